// Bundled by `./baton` (esbuild) into node_modules/.baton-build/tidy.js: bpmn-auto-layout ships ES
// modules only, and the designer loads plain scripts. Exposes window.BatonTidy.layoutProcess(xml).
import { layoutProcess } from 'bpmn-auto-layout';

window.BatonTidy = { layoutProcess };
