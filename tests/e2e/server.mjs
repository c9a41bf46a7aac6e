// A tiny static server on 127.0.0.1 for the e2e tests (and the browser benchmark, bench/browser/,
// which mounts folders of its own):
//   /node_modules/ultra-efficient-llm/*  the packed npm package (extracted `npm pack` output)
//   /e2e/*                               this folder (the test page)
//   /fixtures/*                          tests/fixtures
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html',
  '.wasm': 'application/wasm', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain', '.uelm': 'application/octet-stream' };

/** `headers`: added to every answer (e.g. CORS headers, to play a CDN). */
export async function startServer(mounts, { headers = {} } = {}) {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://127.0.0.1');
      const path = decodeURIComponent(url.pathname);
      const prefix = Object.keys(mounts).find((p) => path.startsWith(p));
      if (!prefix) throw Object.assign(new Error('no mount'), { code: 'ENOENT' });
      const root = mounts[prefix];
      const file = normalize(join(root, path.slice(prefix.length)));
      if (!file.startsWith(normalize(root) + sep)) throw Object.assign(new Error('outside'), { code: 'ENOENT' });
      const body = await readFile(file);
      // An ETag, honoured in If-None-Match (304), for clients that revalidate (loadUrl).
      const st = await stat(file);
      const etag = `"${st.size}-${Math.round(st.mtimeMs)}"`;
      const type = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' };
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag, 'cache-control': 'no-store', ...headers });
        res.end();
        return;
      }
      res.writeHead(200, { ...type, etag, 'cache-control': 'no-store', ...headers });
      // ?chunked=1: no Content-Length, as a server that streams a body it has not sized.
      if (url.searchParams.has('chunked')) {
        res.write(body.subarray(0, body.length >> 1));
        res.end(body.subarray(body.length >> 1));
      } else {
        res.end(body);
      }
    } catch (e) {
      res.writeHead(e.code === 'ENOENT' || e.code === 'EISDIR' ? 404 : 500, { 'content-type': 'text/plain', ...headers });
      res.end(String(e.message));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}
