"""Internal helpers of myself_i2i. No stability promise: may change in any release."""
