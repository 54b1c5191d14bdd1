'use strict';
/* A Node.js front-end for the tests, run under `capgate run`. */
const path = require('path');
const capgate = require(path.join(__dirname, '..', '..', 'client', 'node', 'capgate.js'));

if (process.env.CAPGATE_KEY_FD !== undefined) console.log('key variable still set');

async function show(p) {
  try {
    console.log(JSON.stringify(await p));
  } catch (e) {
    console.log(e instanceof capgate.CapgateError ? `error: ${e.code}` : `transport: ${e.message}`);
  }
}

(async () => {
  const gw = await capgate.connect();
  await show(gw.invoke('b:echo', { a: [1, 'é'] }));
  await show(gw.invoke('b:echo', 'not an object'));
  await show(gw.invoke('b:nope', {}));
  gw.send('b:note', { x: 1 });
  const got = [];
  const off = gw.on('b:tick', (ch, p) => got.push(p));
  await show(gw.invoke('b:emit', { channel: 'b:tick', payload: { n: 7 } }));
  await new Promise((r) => setTimeout(r, 200));
  off();
  await show(gw.invoke('b:emit', { channel: 'b:tick', payload: { n: 8 } }));
  await new Promise((r) => setTimeout(r, 200));
  console.log('events', JSON.stringify(got));
  await show(gw.invoke('b:slow', 0.05, { timeout: 5000 }));
  await show(gw.invoke('b:blob', 10));
  await show(gw.invoke('b:echo', { after: 'fds' }));
  console.log('done');
})();
