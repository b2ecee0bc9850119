// ws_relay.mjs — the media relay of make bench (BENCH_ONLY=lobby) on Node's
// `ws`, written the usual way: GET /room/R upgrades, every binary message a
// client sends goes to every other client of room R with client.send(data).
// Like vcd and t/bench/ws_baseline.c, a recipient with more than 1 MiB
// buffered (ws's bufferedAmount) loses messages until it drains, counted.
// No permessage-deflate (vcd never negotiates it).
//
// usage: node ws_relay.mjs [--listen ADDR:PORT]
// Prints "ws_relay: listening on ADDR:PORT" when ready; SIGTERM or SIGINT
// stops it and prints what it relayed and dropped.
import { WebSocketServer } from 'ws';

const SEND_BUFFER = 1 << 20;
let listen = '127.0.0.1:8093';
for (let i = 2; i < process.argv.length; i++) {
	if (process.argv[i] === '--listen' && i + 1 < process.argv.length) {
		listen = process.argv[++i];
	} else {
		console.error('usage: node ws_relay.mjs [--listen ADDR:PORT]');
		process.exit(2);
	}
}
const colon = listen.lastIndexOf(':');
const host = listen.slice(0, colon);
const port = Number(listen.slice(colon + 1));

const rooms = new Map(); // name -> Set of sockets
let messages = 0, deliveries = 0, dropped = 0;

const wss = new WebSocketServer({ host, port, backlog: 4096, perMessageDeflate: false,
	maxPayload: 4000000, clientTracking: false });

wss.on('connection', (ws, req) => {
	const m = /^\/room\/([A-Za-z0-9_-]+)$/.exec(req.url);
	if (m === null) {
		ws.close(1008, 'expected /room/R');
		return;
	}
	const name = m[1];
	let room = rooms.get(name);
	if (room === undefined) {
		room = new Set();
		rooms.set(name, room);
	}
	room.add(ws);
	ws.on('message', (data, isBinary) => {
		if (!isBinary)
			return;
		messages++;
		for (const client of room) {
			if (client === ws || client.readyState !== 1)
				continue;
			if (client.bufferedAmount > SEND_BUFFER) {
				dropped++;
				continue;
			}
			client.send(data);
			deliveries++;
		}
	});
	ws.on('close', () => {
		room.delete(ws);
		if (room.size === 0)
			rooms.delete(name);
	});
	ws.on('error', () => {});
});

wss.on('listening', () => console.log(`ws_relay: listening on ${host}:${port}`));
wss.on('error', (e) => {
	console.error(`ws_relay: cannot listen on ${host}:${port}: ${e.message}`);
	process.exit(1);
});

function stop() {
	console.error(`ws_relay: ${messages} messages relayed, ${deliveries} deliveries, ` +
		`${dropped} dropped (slow readers)`);
	process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
