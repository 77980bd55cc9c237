// Copies the Socket.IO client's ES module build out of node_modules into
// vendor/, so the pages load it from our own origin with no build step.
// The package's `exports` map hides dist/ from require.resolve, so the file
// is found by path.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = join(root, 'node_modules', 'socket.io-client');
const src = join(pkgDir, 'dist', 'socket.io.esm.min.js');
if (!existsSync(src)) {
  console.error(`missing ${src}: run npm install first`);
  process.exit(1);
}
const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
mkdirSync(join(root, 'vendor'), { recursive: true });
copyFileSync(src, join(root, 'vendor', 'socket.io.esm.min.js'));
// The source map only helps the browser's developer tools.
if (existsSync(`${src}.map`)) copyFileSync(`${src}.map`, join(root, 'vendor', 'socket.io.esm.min.js.map'));
console.log(`vendored socket.io-client ${version} -> vendor/socket.io.esm.min.js`);
