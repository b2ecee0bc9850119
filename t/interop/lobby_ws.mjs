// lobby_ws.mjs — lobby_session.mjs's scenario on vcd's /lobby with Node's `ws` as
// the WebSocket client and protobufjs (lobby.proto, keepCase) for the packets.
// Used by t/integration/test_lobby_interop.c; needs `npm ci --prefix t/interop`.
//
//   LOBBY_URL=ws://127.0.0.1:PORT/lobby ROOM=r USER_A=a TOKEN_A=… USER_B=b TOKEN_B=… \
//       node t/interop/lobby_ws.mjs
//
// Prints the scenario's report as one line of JSON and exits 0; on any failure
// prints the reason to stderr and exits 1.

import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));

function fail(why) {
	process.stderr.write(`lobby_ws: ${why}\n`);
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

async function main() {
	const env = (name) => process.env[name] ?? fail(`${name} is not set`);
	const { WebSocket } = await load('ws');
	const protobuf = (await load('protobufjs')).default;
	const { runScenario } = await import('./lobby_session.mjs');
	const text = fs.readFileSync(path.join(here, 'lobby.proto'), 'utf8');
	const { root } = protobuf.parse(text, { keepCase: true });
	const timer = setTimeout(() => fail('the scenario did not end within 30 s'), 30000);
	const report = await runScenario({
		WebSocket, root, lobbyUrl: env('LOBBY_URL'), room: env('ROOM'),
		a: { user: env('USER_A'), token: env('TOKEN_A') },
		b: { user: env('USER_B'), token: env('TOKEN_B') },
	});
	clearTimeout(timer);
	process.stdout.write(JSON.stringify(report) + '\n');
	process.exit(0);
}

main().catch((e) => fail(e?.message ?? String(e)));
