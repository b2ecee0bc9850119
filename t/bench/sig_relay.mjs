// sig_relay.mjs — the signaling reference of make bench (BENCH_ONLY=signal)
// on Node's `ws`: the part of vcd's /ws (doc/signaling.md) that the
// account_sync benchmark uses, written the usual way and without
// persistence. GET /ws upgrades; text frames carry JSON envelopes.
//
//   identify {token, clientInstanceId?, connectionScope?, displayName?}
//       any non-empty token is accepted and is the user's id; answers
//       identified {oderId, displayName, connectionId, syncSeq}, tells the
//       user's other connections account_sync_peer_online, and closes an
//       older socket of the same (user, scope, clientInstanceId) with 4503.
//       Anything else first: auth_required. No identify within 10 s: 4003.
//   ping → pong
//   account_sync {clientInstanceId, payload}: the user's next seq (in
//       memory), account_sync_ack {seq} to the sender, then
//       {type, fromUserId, clientInstanceId, payload, seq} serialized once
//       and sent to every other connection of the user.
//   anything else: error {code: unknown_type, ref}.
//
// No permessage-deflate (vcd never negotiates it).
//
// usage: node sig_relay.mjs [--listen ADDR:PORT]
// Prints "sig_relay: listening on ADDR:PORT" when ready; SIGTERM or SIGINT
// stops it and prints what it relayed.
import { WebSocketServer } from 'ws';

const IDENTIFY_TIMEOUT_MS = 10000;
let listen = '127.0.0.1:8094';
for (let i = 2; i < process.argv.length; i++) {
	if (process.argv[i] === '--listen' && i + 1 < process.argv.length) {
		listen = process.argv[++i];
	} else {
		console.error('usage: node sig_relay.mjs [--listen ADDR:PORT]');
		process.exit(2);
	}
}
const colon = listen.lastIndexOf(':');
const host = listen.slice(0, colon);
const port = Number(listen.slice(colon + 1));

const users = new Map(); // user id -> { conns: Set of sockets, seq }
let nextConnection = 1, syncs = 0, deliveries = 0;

const wss = new WebSocketServer({ host, port, path: '/ws', backlog: 4096,
	perMessageDeflate: false, maxPayload: 65536, clientTracking: false });

function send(ws, obj) {
	ws.send(JSON.stringify(obj));
}

function identify(ws, s, m) {
	if (typeof m.token !== 'string' || m.token === '') {
		send(ws, { type: 'auth_error', message: 'token required' });
		return;
	}
	clearTimeout(s.timer);
	s.timer = null;
	s.userId = m.token;
	s.cid = typeof m.clientInstanceId === 'string' ? m.clientInstanceId : '';
	s.scope = typeof m.connectionScope === 'string' ? m.connectionScope : '';
	let u = users.get(s.userId);
	if (u === undefined) {
		u = { conns: new Set(), seq: 0 };
		users.set(s.userId, u);
	}
	for (const other of u.conns) {
		const o = other.sig;
		if (s.cid !== '' && o.cid === s.cid && o.scope === s.scope) {
			u.conns.delete(other);
			other.close(4503, 'replaced');
		}
	}
	send(ws, { type: 'identified', oderId: s.userId,
		displayName: typeof m.displayName === 'string' ? m.displayName : s.userId,
		connectionId: s.id, syncSeq: u.seq });
	const online = JSON.stringify({ type: 'account_sync_peer_online', fromUserId: s.userId,
		clientInstanceId: s.cid, connectionScope: s.scope });
	for (const other of u.conns)
		other.send(online);
	u.conns.add(ws);
	s.user = u;
}

function accountSync(ws, s, m) {
	if (typeof m.clientInstanceId !== 'string') {
		send(ws, { type: 'error', code: 'bad_message', message: 'clientInstanceId must be a string',
			ref: 'account_sync' });
		return;
	}
	const u = s.user, seq = ++u.seq;
	syncs++;
	send(ws, { type: 'account_sync_ack', seq });
	const out = JSON.stringify({ type: 'account_sync', fromUserId: s.userId,
		clientInstanceId: m.clientInstanceId, payload: m.payload, seq });
	for (const other of u.conns) {
		if (other === ws)
			continue;
		other.send(out);
		deliveries++;
	}
}

wss.on('connection', (ws) => {
	const s = { id: String(nextConnection++), userId: null, user: null, cid: '', scope: '',
		timer: setTimeout(() => ws.close(4003, 'identify_timeout'), IDENTIFY_TIMEOUT_MS) };
	ws.sig = s;
	ws.on('message', (data, isBinary) => {
		let m;
		try {
			m = isBinary ? null : JSON.parse(data.toString());
		} catch {
			m = null;
		}
		if (m === null || typeof m !== 'object' || typeof m.type !== 'string') {
			send(ws, { type: 'error', code: 'bad_message', message: 'expected a JSON object with a type',
				ref: null });
			return;
		}
		if (m.type === 'ping') {
			send(ws, { type: 'pong' });
		} else if (m.type === 'identify') {
			identify(ws, s, m);
		} else if (s.user === null) {
			send(ws, { type: 'auth_required', ref: m.type });
		} else if (m.type === 'account_sync') {
			accountSync(ws, s, m);
		} else {
			send(ws, { type: 'error', code: 'unknown_type', message: 'unknown type', ref: m.type });
		}
	});
	ws.on('close', () => {
		clearTimeout(s.timer);
		if (s.user !== null) {
			s.user.conns.delete(ws);
			if (s.user.conns.size === 0 && s.user.seq === 0)
				users.delete(s.userId);
		}
	});
	ws.on('error', () => {});
});

wss.on('listening', () => console.log(`sig_relay: listening on ${host}:${port}`));
wss.on('error', (e) => {
	console.error(`sig_relay: cannot listen on ${host}:${port}: ${e.message}`);
	process.exit(1);
});

function stop() {
	console.error(`sig_relay: ${syncs} account_sync relayed, ${deliveries} deliveries`);
	process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
