"""The test suite (a regular package, so it is never shadowed by a wheel that installs a top-level ``tests`` package, as the confusables wheel does)."""
