// lobby_session.mjs — one scenario on vcd's media WebSocket /lobby, played by two
// clients vcd shares no code with: a WebSocket implementation given by the caller
// (Node's `ws` in lobby_ws.mjs, the browser's own in lobby_page.html) and packets
// decoded and encoded by protobufjs from lobby.proto. No Node API is used here, so
// the same file runs in Node and in a page.
//
//   1. A connects: its first two packets, decoded (SESSION_ASSIGNED, MEETING_STARTED)
//   2. B connects: the same
//   3. A sends a MEDIA packet (session_id 0): B's first MEDIA packet, decoded, and
//      the MEETING packets B saw before it
//   4. B sends a MEDIA packet with its own session id: what A receives, byte for byte
//   5. A sends an RTT probe: its echo, byte for byte
//   6. both close with 1000: the close code each gets back
//
// runScenario() returns a report of what was seen (uint64 as decimal strings, bytes
// as UTF-8 text or lengths); the C test (t/integration/test_lobby_interop.c) checks
// it against the contract. Every wait is bounded; a failure throws an Error saying
// what was awaited.

const WAIT_MS = 5000;

const utf8 = (bytes) => new TextDecoder().decode(bytes);
const bytesOf = (text) => new TextEncoder().encode(text);

function sameBytes(x, y) {
	if (x.length !== y.length)
		return false;
	for (let i = 0; i < x.length; i++)
		if (x[i] !== y[i])
			return false;
	return true;
}

// A WebSocket with a queue of binary messages and bounded waits.
class Peer {
	constructor(WebSocketImpl, url, name) {
		this.name = name;
		this.queue = [];
		this.waiter = null;
		this.closed = null;
		this.ws = new WebSocketImpl(url);
		this.ws.binaryType = 'arraybuffer';
		this.ws.addEventListener('message', (ev) => {
			if (typeof ev.data === 'string') {
				this.push({ text: ev.data });
				return;
			}
			this.push({ bytes: new Uint8Array(ev.data) });
		});
		this.ws.addEventListener('close', (ev) => {
			this.closed = { code: ev.code, reason: ev.reason };
			this.push(null);
		});
		this.ws.addEventListener('error', () => {});
	}

	push(m) {
		if (m !== null)
			this.queue.push(m);
		if (this.waiter) {
			const w = this.waiter;
			this.waiter = null;
			w();
		}
	}

	opened() {
		return new Promise((resolve, reject) => {
			const t = setTimeout(() => reject(new Error(`${this.name}: the WebSocket did not open within ${WAIT_MS} ms`)), WAIT_MS);
			this.ws.addEventListener('open', () => { clearTimeout(t); resolve(); });
			this.ws.addEventListener('close', (ev) => {
				clearTimeout(t);
				reject(new Error(`${this.name}: closed before opening (code ${ev.code})`));
			});
		});
	}

	// The next binary message (text messages fail: vcd sends none).
	async next(what) {
		const deadline = Date.now() + WAIT_MS;
		while (this.queue.length === 0) {
			if (this.closed)
				throw new Error(`${this.name}: waiting for ${what}: closed with ${this.closed.code} '${this.closed.reason}'`);
			const left = deadline - Date.now();
			if (left <= 0)
				throw new Error(`${this.name}: waiting ${WAIT_MS} ms for ${what}: nothing arrived`);
			await new Promise((resolve) => {
				const t = setTimeout(resolve, left);
				this.waiter = () => { clearTimeout(t); resolve(); };
			});
		}
		const m = this.queue.shift();
		if (m.text !== undefined)
			throw new Error(`${this.name}: waiting for ${what}: a text message arrived`);
		return m.bytes;
	}

	send(bytes) {
		this.ws.send(bytes);
	}

	// Close with 1000 and wait for the close event: its code.
	async close() {
		this.ws.close(1000, 'done');
		const deadline = Date.now() + WAIT_MS;
		while (!this.closed) {
			if (Date.now() > deadline)
				throw new Error(`${this.name}: no close within ${WAIT_MS} ms of ours`);
			await new Promise((resolve) => {
				const t = setTimeout(resolve, 50);
				this.waiter = () => { clearTimeout(t); resolve(); };
			});
		}
		return this.closed.code;
	}
}

export async function runScenario({ WebSocket: WebSocketImpl, root, lobbyUrl, a, b, room }) {
	const PacketWrapper = root.lookupType('PacketWrapper');
	const MediaPacket = root.lookupType('MediaPacket');
	const MeetingPacket = root.lookupType('MeetingPacket');
	const PT = PacketWrapper.getEnum('PacketType');
	const MT = MediaPacket.getEnum('MediaType');
	const asObject = { longs: String, enums: String, bytes: Array, defaults: true };

	const wrapper = (bytes) => {
		const w = PacketWrapper.decode(bytes);
		const o = PacketWrapper.toObject(w, asObject);
		return {
			packet_type: o.packet_type,
			user_id: utf8(Uint8Array.from(o.user_id)),
			session_id: o.session_id,
			data: Uint8Array.from(o.data),
		};
	};
	const meeting = (data) => {
		const o = MeetingPacket.toObject(MeetingPacket.decode(data), asObject);
		return {
			event_type: o.event_type,
			room_id: o.room_id,
			start_time_ms: o.start_time_ms,
			message: o.message,
			creator_id: utf8(Uint8Array.from(o.creator_id)),
			target_user_id: utf8(Uint8Array.from(o.target_user_id)),
			session_id: o.session_id,
			display_name: utf8(Uint8Array.from(o.display_name)),
		};
	};
	const media = (data) => {
		const o = MediaPacket.toObject(MediaPacket.decode(data), asObject);
		return {
			media_type: o.media_type,
			user_id: utf8(Uint8Array.from(o.user_id)),
			data: Uint8Array.from(o.data),
			frame_type: o.frame_type,
			timestamp: o.timestamp,
		};
	};
	const mediaPacket = (type, user, payload, sessionId) => {
		const m = MediaPacket.encode(MediaPacket.create({
			media_type: type, user_id: bytesOf(user), data: payload, frame_type: 'key',
			timestamp: 1234.5,
		})).finish();
		return PacketWrapper.encode(PacketWrapper.create({
			packet_type: PT.MEDIA, user_id: bytesOf(user), data: m, session_id: sessionId,
		})).finish();
	};
	// The first two packets of a session.
	const opening = async (peer) => {
		const first = wrapper(await peer.next('SESSION_ASSIGNED'));
		const second = wrapper(await peer.next('MEETING_STARTED'));
		return {
			assigned: { packet_type: first.packet_type, user_id: first.user_id,
				session_id: first.session_id, data_len: first.data.length },
			started: { packet_type: second.packet_type, user_id: second.user_id,
				meeting: second.packet_type === 'MEETING' ? meeting(second.data) : null },
		};
	};
	// Messages until the first MEDIA packet: it (raw and decoded) and the MEETING
	// packets before it.
	const untilMedia = async (peer, what) => {
		const meetings = [];
		for (let i = 0; i < 20; i++) {
			const raw = await peer.next(what);
			const w = wrapper(raw);
			if (w.packet_type === 'MEETING') {
				meetings.push(meeting(w.data));
				continue;
			}
			return { raw, w, meetings };
		}
		throw new Error(`${peer.name}: 20 MEETING packets and no ${what}`);
	};

	const report = { implementation: typeof navigator === 'object' ? navigator.userAgent : 'node ws' };
	const pa = new Peer(WebSocketImpl, `${lobbyUrl}?token=${a.token}`, 'A');
	await pa.opened();
	report.a = await opening(pa);
	const pb = new Peer(WebSocketImpl, `${lobbyUrl}?token=${b.token}`, 'B');
	await pb.opened();
	report.b = await opening(pb);

	// 3. A's media, session_id 0: B gets it with A's session id.
	const payload = new Uint8Array(1500);
	for (let i = 0; i < payload.length; i++)
		payload[i] = (i * 7 + 3) & 0xff;
	const sentA = mediaPacket(MT.VIDEO, a.user, payload, 0);
	pa.send(sentA);
	const gotB = await untilMedia(pb, "A's media packet");
	const mb = media(gotB.w.data);
	report.b_got = {
		packet_type: gotB.w.packet_type, user_id: gotB.w.user_id, session_id: gotB.w.session_id,
		media_type: mb.media_type, media_user_id: mb.user_id, frame_type: mb.frame_type,
		timestamp: mb.timestamp, data_len: mb.data.length, data_intact: sameBytes(mb.data, payload),
		sent_len: sentA.length, got_len: gotB.raw.length, meetings_before: gotB.meetings,
	};

	// 4. B's media with its own session id: relayed to A byte for byte.
	const sentB = mediaPacket(MT.AUDIO, b.user, bytesOf('audio from B'), report.b.assigned.session_id);
	pb.send(sentB);
	const gotA = await untilMedia(pa, "B's media packet");
	report.a_got = {
		identical: sameBytes(gotA.raw, sentB), packet_type: gotA.w.packet_type,
		session_id: gotA.w.session_id, media_type: media(gotA.w.data).media_type,
		meetings_before: gotA.meetings,
	};

	// 5. An RTT probe comes back to its sender as it was sent.
	const rtt = mediaPacket(MT.RTT, a.user, bytesOf('rtt probe'), 0);
	pa.send(rtt);
	const echo = await pa.next('the RTT echo');
	report.rtt_echo_identical = sameBytes(echo, rtt);

	// 6. Closing: vcd echoes 1000.
	report.close = { a: await pa.close(), b: await pb.close() };
	report.room = room;
	return report;
}
