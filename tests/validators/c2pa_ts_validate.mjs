// Validates C2PA files with @trustnxt/c2pa-ts, an implementation that shares no code with
// c2pa-rs. Prints one JSON line per file: {file, valid, failures}. Run by
// tests/validators/test_c2pa_ts.py from the folder where `make c2pa-ts` installed the package.
import * as fs from 'node:fs/promises';
import { JPEG, PNG } from '@trustnxt/c2pa-ts/asset';
import { SuperBox } from '@trustnxt/c2pa-ts/jumbf';
import { ManifestStore, ValidationResult } from '@trustnxt/c2pa-ts/manifest';
for (const f of process.argv.slice(2)) {
  const buf = await fs.readFile(f);
  const asset = JPEG.canRead(buf) ? new JPEG(buf) : PNG.canRead(buf) ? new PNG(buf) : null;
  if (!asset) { console.log(JSON.stringify({file: f, error: 'format'})); continue; }
  let r;
  try {
    const jumbf = asset.getManifestJUMBF();
    const ms = ManifestStore.read(SuperBox.fromBuffer(jumbf));
    r = await ms.validate(asset);
  } catch (e) { r = ValidationResult.fromError(e); }
  const codes = r.statusEntries.filter(e => !e.success).map(e => e.code);
  console.log(JSON.stringify({file: f, valid: r.isValid, failures: codes}));
}
