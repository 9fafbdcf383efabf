/**
 * `npm run widget:size`: the live-chat widget's size as sites download it (minified, gzip level 9, as /widget.js
 * serves it). The README's figure comes from here; test/integration/livechat/widget-script.test.ts keeps a budget.
 */
import { gzipSync } from 'node:zlib';
import { bundleWidget } from '../connectors/livechat/widget-script.js';

const text = await bundleWidget();
const gzip = gzipSync(Buffer.from(text), { level: 9 });
console.log(`widget.js: ${text.length} bytes minified, ${gzip.length} bytes gzipped`);
