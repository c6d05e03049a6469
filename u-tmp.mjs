import http from 'node:http';
const srv = http.createServer((req, res) => { if (req.url.startsWith('/destroy')) { req.socket.destroy(); } else if (req.url.startsWith('/body')) { res.writeHead(200, {'content-type':'application/json'}); res.write('{"a":'); } });
await new Promise(r => srv.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${srv.address().port}`;
async function t(name, fn) { const s=Date.now(); try { await fn(); console.log(name, 'ok'); } catch (e) { console.log(name, Date.now()-s, e.constructor.name, e.message, e.cause?.message, e.cause?.cause?.code, e.cause?.cause?.message); } }
const { default: OpenAI } = await import('openai');
const c = new OpenAI({ apiKey: 'sk-x', baseURL: 'http://127.0.0.1:1/v1', maxRetries: 0 });
await t('openai-refused', () => c.chat.completions.create({ model: 'm', messages: [] }));
const c3 = new OpenAI({ apiKey: 'sk-x', baseURL: base + '/destroy', maxRetries: 0 });
await t('openai-destroy', () => c3.chat.completions.create({ model: 'm', messages: [] }));
const c4 = new OpenAI({ apiKey: 'sk-x', baseURL: base + '/body', maxRetries: 0, timeout: 300 });
await t('openai-bodyhang', () => c4.chat.completions.create({ model: 'm', messages: [] }));
srv.closeAllConnections(); srv.close();
