// verify_room_token.mjs — verify a vcd room or observer token with jose, a
// JWT library vcd shares no code with, as a media server would: HS256 only,
// issuer videocall-meeting-backend, exp required and in the future. Used by
// t/integration/test_interop.c; needs `npm ci --prefix t/interop` once.
//
//   node t/interop/verify_room_token.mjs [TOKEN [SECRET]]
//
// TOKEN and SECRET come from the arguments, else from the environment
// variables of those names (the environment keeps the secret out of ps).
// On success prints the payload as one line of JSON and exits 0; on any
// failure prints the reason to stderr and exits 1.

const ISSUER = 'videocall-meeting-backend';

function fail(why) {
	process.stderr.write(`verify_room_token: ${why}\n`);
	process.exit(1);
}

async function loadJose() {
	try {
		return await import('jose');
	} catch (e) {
		fail(`cannot load jose (${e.code ?? e.message}): ` +
		     'install it with `npm ci --prefix t/interop` in the source tree');
	}
}

async function main() {
	const token = process.argv[2] ?? process.env.TOKEN;
	const secret = process.argv[3] ?? process.env.SECRET;

	if (!token)
		fail('no token: pass it as the first argument or in TOKEN');
	if (!secret)
		fail('no secret: pass it as the second argument or in SECRET');
	const { jwtVerify } = await loadJose();
	try {
		const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
			algorithms: ['HS256'],
			issuer: ISSUER,
			typ: 'JWT',
			requiredClaims: ['exp', 'sub'],
		});
		process.stdout.write(JSON.stringify(payload) + '\n');
	} catch (e) {
		fail(`token rejected: ${e.code ?? e.name}: ${e.message}`);
	}
}

await main();
