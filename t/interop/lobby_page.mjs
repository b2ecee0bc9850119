// lobby_page.mjs — lobby_session.mjs's scenario in headless Chromium: the browser's
// own WebSocket talks to vcd's /lobby, and protobufjs's browser build decodes the
// packets. Used by t/integration/test_lobby_interop.c.
//
//   CHROMIUM=/usr/bin/chromium LOBBY_URL=ws://127.0.0.1:PORT/lobby ROOM=r \
//       USER_A=a TOKEN_A=… USER_B=b TOKEN_B=… node t/interop/lobby_page.mjs
//
// How it drives the browser (no WebDriver, no DevTools protocol): a small HTTP
// server on a free loopback port serves lobby_page.html, lobby_session.mjs,
// lobby.proto and node_modules/protobufjs/dist/protobuf.min.js; Chromium is
// started headless on the page with the parameters in the URL fragment and a
// fresh profile; the page POSTs its report to /report; this script prints it as
// one line of JSON, stops Chromium (its whole process group) and removes the
// profile. Exit 0 with the report, 1 with the reason on stderr (the page's error,
// Chromium exiting early, or no report within 45 s).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPORT_MS = 45000;
const files = {
	'/page.html': ['lobby_page.html', 'text/html; charset=utf-8'],
	'/lobby_session.mjs': ['lobby_session.mjs', 'text/javascript; charset=utf-8'],
	'/lobby.proto': ['lobby.proto', 'text/plain; charset=utf-8'],
	'/protobuf.min.js': ['node_modules/protobufjs/dist/protobuf.min.js',
		'text/javascript; charset=utf-8'],
};

let chromium = null;
let profile = null;
let chromiumErr = '';

// Kill Chromium's process group; remove the profile (best effort: a child may
// still be writing to it for a moment).
function cleanup() {
	if (chromium !== null) {
		try {
			process.kill(-chromium.pid, 'SIGKILL');
		} catch {
			/* already gone */
		}
	}
	if (profile !== null) {
		try {
			fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
		} catch {
			/* left in the temp directory */
		}
	}
}

// Stop Chromium and wait (3 s at most) for its main process to exit.
async function stopChromium() {
	if (chromium === null || chromium.exitCode !== null || chromium.signalCode !== null)
		return;
	const gone = new Promise((resolve) => chromium.on('exit', resolve));
	try {
		process.kill(-chromium.pid, 'SIGTERM');
	} catch {
		return;
	}
	await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 3000))]);
}

function fail(why) {
	cleanup();
	process.stderr.write(`lobby_page: ${why}\n`);
	if (chromiumErr)
		process.stderr.write(`lobby_page: Chromium's last output:\n${chromiumErr.slice(-2000)}\n`);
	process.exit(1);
}

const env = (name) => process.env[name] ?? fail(`${name} is not set`);

async function main() {
	const params = {
		lobbyUrl: env('LOBBY_URL'), room: env('ROOM'),
		a: { user: env('USER_A'), token: env('TOKEN_A') },
		b: { user: env('USER_B'), token: env('TOKEN_B') },
	};
	const exe = process.env.CHROMIUM ?? '/usr/bin/chromium';
	for (const [, [file]] of Object.entries(files))
		if (!fs.existsSync(path.join(here, file)))
			fail(`${file} is missing: install it with \`npm ci --prefix t/interop\``);

	let gotReport;
	const report = new Promise((resolve) => { gotReport = resolve; });
	const server = http.createServer((req, res) => {
		const url = new URL(req.url, 'http://x');
		if (req.method === 'POST' && url.pathname === '/report') {
			let body = '';
			req.on('data', (d) => { body += d; });
			req.on('end', () => {
				res.writeHead(204).end();
				gotReport(body);
			});
			return;
		}
		const f = files[url.pathname];
		if (req.method !== 'GET' || f === undefined) {
			res.writeHead(404).end();
			return;
		}
		res.writeHead(200, { 'Content-Type': f[1], 'Cache-Control': 'no-store' });
		res.end(fs.readFileSync(path.join(here, f[0])));
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	const page = `http://127.0.0.1:${server.address().port}/page.html#` +
		encodeURIComponent(JSON.stringify(params));

	profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vcd-chromium-'));
	chromium = spawn(exe, [
		'--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
		'--disable-component-update', '--disable-sync', '--no-first-run',
		'--disable-dev-shm-usage', `--user-data-dir=${profile}`, page,
	], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
	chromium.stderr.on('data', (d) => { chromiumErr = (chromiumErr + d).slice(-8000); });
	const exited = new Promise((resolve) => chromium.on('exit', (code, sig) =>
		resolve(`Chromium (${exe}) exited (${sig ?? code}) before the page reported`)));
	chromium.on('error', (e) => fail(`cannot run ${exe}: ${e.message}`));
	const timeout = new Promise((resolve) => setTimeout(
		() => resolve(`no report from the page within ${REPORT_MS / 1000} s`), REPORT_MS));

	const first = await Promise.race([report.then((r) => ({ r })), exited.then((e) => ({ e })),
		timeout.then((e) => ({ e }))]);
	server.close();
	if (first.e !== undefined)
		fail(first.e);
	const r = JSON.parse(first.r);
	await stopChromium();
	cleanup();
	if (r.error !== undefined) {
		process.stderr.write(`lobby_page: the page failed: ${r.error}\n`);
		process.exit(1);
	}
	process.stdout.write(JSON.stringify(r) + '\n');
	process.exit(0);
}

process.on('SIGTERM', () => fail('terminated'));
main().catch((e) => fail(e?.message ?? String(e)));
