// signal_ws.mjs — vcd's signaling WebSocket /ws driven by Node's `ws`, a client
// that shares no code with vcd: two users' clients A and B (and a third
// connection of A's user) speak the JSON messages as a Toju/MetoYou client
// does. Used by t/integration/test_signal_interop.c; needs `npm ci --prefix
// t/interop`.
//
//   SIGNAL_URL=ws://127.0.0.1:PORT/ws SERVER_ID=… \
//   USER_A=id TOKEN_A=… NAME_A=… USER_B=id TOKEN_B=… NAME_B=… node t/interop/signal_ws.mjs
//
// The scenario:
//   1. a fresh connection sends join_server before identify: auth_required;
//      it then identifies and its server_users is refused (it never joined)
//   2. A and B identify (clientInstanceId a-1, b-1): identified
//   3. A joins the server: server_users; B joins: server_users listing A, and
//      A gets user_joined of B; A asks server_users: both
//   4. A sends a chat_message: B gets it with fromUserId A, the rest
//      unchanged; B answers: A gets it; A's own never comes back (a ping
//      after, answered, with nothing of its own before the pong)
//   5. A's second device a-2 identifies: a-1 gets account_sync_peer_online;
//      a-1 sends account_sync: account_sync_ack {seq}; a-2 gets it with seq,
//      fromUserId, clientInstanceId a-1, the payload unchanged; a second one
//      has seq + 1; B gets none of them
//   6. every socket is closed with 1000 and vcd answers 1000
//
// Prints the report (what was received, as received) as one line of JSON and
// exits 0; on any failure (a wait that ends without its message, a close,
// a message that must not come) prints the reason to stderr and exits 1.
// Every wait is bounded (WAIT_MS) and names what it awaited.

const WAIT_MS = 10000;

function fail(why) {
	process.stderr.write(`signal_ws: ${why}\n`);
	process.exit(1);
}

async function load(name) {
	try {
		return await import(name);
	} catch (e) {
		fail(`cannot load ${name} (${e.code ?? e.message}): install it with ` +
		     '`npm ci --prefix t/interop` in the source tree');
	}
}

const env = (name) => process.env[name] ?? fail(`${name} is not set`);

// A connection with an inbox of parsed messages and bounded waits.
class Client {
	constructor(WebSocket, url, name) {
		this.name = name;
		this.inbox = [];
		this.taken = new Set();
		this.waiters = [];
		this.closed = null;
		this.ws = new WebSocket(url);
		this.ws.on('message', (data, isBinary) => {
			if (isBinary)
				fail(`${name}: a binary message from vcd (${data.length} bytes)`);
			let m;
			try {
				m = JSON.parse(data.toString('utf8'));
			} catch (e) {
				fail(`${name}: a message that is not JSON: ${data.toString('utf8')}`);
			}
			this.inbox.push(m);
			this.wake();
		});
		this.ws.on('close', (code, reason) => {
			this.closed = { code, reason: reason.toString() };
			this.wake();
		});
		this.ws.on('error', (e) => fail(`${name}: ${e.message}`));
	}

	opened() {
		return new Promise((resolve) => {
			if (this.ws.readyState === 1)
				resolve();
			else
				this.ws.once('open', resolve);
		});
	}

	wake() {
		const w = this.waiters;
		this.waiters = [];
		for (const f of w)
			f();
	}

	send(obj) {
		this.ws.send(JSON.stringify(obj));
	}

	// The first message not taken yet for which pred is true: take it.
	async take(what, pred) {
		const end = Date.now() + WAIT_MS;
		for (;;) {
			for (let i = 0; i < this.inbox.length; i++) {
				if (!this.taken.has(i) && pred(this.inbox[i])) {
					this.taken.add(i);
					return { i, m: this.inbox[i] };
				}
			}
			if (this.closed)
				fail(`${this.name}: awaited ${what}: vcd closed the socket with ` +
				     `${this.closed.code} '${this.closed.reason}'; received ` +
				     JSON.stringify(this.inbox));
			const left = end - Date.now();
			if (left <= 0)
				fail(`${this.name}: awaited ${what} for ${WAIT_MS} ms; received ` +
				     JSON.stringify(this.inbox));
			await new Promise((resolve) => {
				const t = setTimeout(resolve, left);
				this.waiters.push(() => {
					clearTimeout(t);
					resolve();
				});
			});
		}
	}

	takeType(type, what, match = () => true) {
		return this.take(`${type} (${what})`, (m) => m.type === type && match(m));
	}

	// A ping and its pong: everything sent before is handled. The pong's index.
	async sync(what) {
		this.send({ type: 'ping' });
		return (await this.takeType('pong', `the pong after ${what}`)).i;
	}

	none(from, to, what, pred) {
		for (let i = from; i < to; i++)
			if (pred(this.inbox[i]))
				fail(`${this.name}: received ${JSON.stringify(this.inbox[i])}, which must ` +
				     `not come (${what})`);
	}

	async close() {
		if (this.closed)
			fail(`${this.name}: closed by vcd (${this.closed.code}) before the end`);
		this.ws.close(1000, 'bye');
		const end = Date.now() + WAIT_MS;
		while (!this.closed) {
			if (Date.now() > end)
				fail(`${this.name}: no answer to its close within ${WAIT_MS} ms`);
			await new Promise((resolve) => this.waiters.push(resolve));
		}
		return this.closed.code;
	}
}

async function main() {
	const { WebSocket } = await load('ws');
	const url = env('SIGNAL_URL');
	const server = env('SERVER_ID');
	const A = { id: env('USER_A'), token: env('TOKEN_A'), name: env('NAME_A') };
	const B = { id: env('USER_B'), token: env('TOKEN_B'), name: env('NAME_B') };
	const timer = setTimeout(() => fail('the scenario did not end within 40 s'), 40000);
	const report = { implementation: 'node ws' };
	const identify = (u, cid) => ({
		type: 'identify', token: u.token, oderId: u.id, displayName: u.name,
		connectionScope: 'interop://node', clientInstanceId: cid,
	});

	// 1. Not identified first.
	const early = new Client(WebSocket, url, 'early');
	await early.opened();
	early.send({ type: 'join_server', serverId: server });
	report.auth_required = (await early.takeType('auth_required', 'join_server before identify')).m;
	early.send(identify(A, 'a-early'));
	report.early_identified = (await early.takeType('identified', 'identify after the refusal')).m;
	early.send({ type: 'server_users', serverId: server });
	report.early_server_users = (await early.take('an error or server_users for a server the ' +
	                                              'refused join did not join',
	                                              (m) => m.type === 'error' ||
	                                                     m.type === 'server_users')).m;

	// 2. Identify.
	const a1 = new Client(WebSocket, url, 'a-1');
	const b1 = new Client(WebSocket, url, 'b-1');
	await Promise.all([a1.opened(), b1.opened()]);
	a1.send(identify(A, 'a-1'));
	report.a_identified = (await a1.takeType('identified', 'A identifies')).m;
	b1.send(identify(B, 'b-1'));
	report.b_identified = (await b1.takeType('identified', 'B identifies')).m;

	// 3. Join and presence.
	a1.send({ type: 'join_server', serverId: server });
	report.a_join = (await a1.takeType('server_users', "A's join_server")).m;
	b1.send({ type: 'join_server', serverId: server });
	report.b_join = (await b1.takeType('server_users', "B's join_server")).m;
	report.a_user_joined = (await a1.takeType('user_joined', 'B joined',
	                                          (m) => m.oderId === B.id)).m;
	a1.send({ type: 'server_users', serverId: server });
	report.a_server_users = (await a1.takeType('server_users', 'asked for by A')).m;

	// 4. Chat both ways, never back to the sender.
	const chatA = {
		type: 'chat_message', serverId: server,
		message: { id: 'm-1', content: 'hé ✓ "quoted" \u{1F600}', timestamp: 1710000000000,
		           reactions: [], meta: { n: 1.5, nil: null, yes: true } },
	};
	a1.send(chatA);
	report.chat_sent = chatA;
	report.chat_at_b = (await b1.takeType('chat_message', "A's chat at B",
	                                      (m) => m.message?.id === 'm-1')).m;
	const chatB = { type: 'chat_message', serverId: server,
	                message: { id: 'm-2', content: 'back' } };
	b1.send(chatB);
	report.chat_back_at_a = (await a1.takeType('chat_message', "B's chat at A",
	                                           (m) => m.message?.id === 'm-2')).m;
	const pong = await a1.sync("A's chat");
	a1.none(0, pong, "A's own chat back", (m) => m.type === 'chat_message' &&
	                                            m.message?.id === 'm-1');
	report.own_chat_back = false;

	// 5. account_sync between A's devices.
	const a2 = new Client(WebSocket, url, 'a-2');
	await a2.opened();
	a2.send(identify(A, 'a-2'));
	report.a2_identified = (await a2.takeType('identified', "A's second device")).m;
	report.peer_online = (await a1.takeType('account_sync_peer_online', 'a-2 came online',
	                                         (m) => m.clientInstanceId === 'a-2')).m;
	const payloads = [
		{ type: 'saved-room-sync', room: { id: 'r1', name: 'Room ✓', members: [1, 2.5, null] } },
		'friend-added:f-2',
	];
	report.sync_acks = [];
	report.sync_at_a2 = [];
	for (const p of payloads) {
		a1.send({ type: 'account_sync', clientInstanceId: 'a-1', payload: p });
		report.sync_acks.push((await a1.takeType('account_sync_ack', 'its account_sync')).m);
		report.sync_at_a2.push((await a2.takeType('account_sync', "a-1's account_sync",
		                                          (m) => m.seq ===
		                                                 report.sync_acks.at(-1).seq)).m);
	}
	report.sync_payloads = payloads;
	// B hears none of A's account_syncs: B's own ping comes after them.
	const bp = await b1.sync("A's account_syncs");
	b1.none(0, bp, "another user's account_sync", (m) => m.type === 'account_sync');
	const ap = await a1.sync('its account_syncs');
	a1.none(0, ap, 'its own account_sync back', (m) => m.type === 'account_sync');

	// 6. Closes.
	report.close = {};
	for (const [k, c] of [['early', early], ['a1', a1], ['a2', a2], ['b1', b1]])
		report.close[k] = await c.close();
	clearTimeout(timer);
	process.stdout.write(JSON.stringify(report) + '\n');
	process.exit(0);
}

main().catch((e) => fail(e?.stack ?? String(e)));
