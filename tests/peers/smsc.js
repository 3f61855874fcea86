#!/usr/bin/env node
// SMPP 3.4 SMSC simulator: the "not ours" peer that linkage's Rust integration
// tests send SMS through. Built on the npm package `smpp` (pinned in package.json).
// See README.md in this folder for the CLI, the log format and the 0x1401 key TLV.
'use strict';

const fs = require('fs');
const readline = require('readline');
const smpp = require('smpp');

// ---------------------------------------------------------------- arguments

function usage(msg) {
  process.stderr.write(
    (msg ? msg + '\n' : '') +
      'usage: node smsc.js --port P --log FILE [--host H] [--system-id ID --password PW]\n' +
      '                    [--receipt-delay-ms N] [--no-receipts] [--exit-on-stdin-eof]\n' +
      '                    [--refuse DEST:PART:TIMES ...]\n'
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    host: '127.0.0.1',
    port: null,
    log: null,
    systemId: null,
    password: null,
    receiptDelayMs: 30,
    receipts: true,
    exitOnStdinEof: false,
    // Submits to refuse (ESME_RSUBMITFAIL): part PART of a message to DEST, the first TIMES times.
    refuse: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage('missing value for ' + a);
      return argv[++i];
    };
    switch (a) {
      case '--port': o.port = Number(val()); break;
      case '--host': o.host = val(); break;
      case '--log': o.log = val(); break;
      case '--system-id': o.systemId = val(); break;
      case '--password': o.password = val(); break;
      case '--receipt-delay-ms': o.receiptDelayMs = Number(val()); break;
      case '--no-receipts': o.receipts = false; break;
      case '--exit-on-stdin-eof': o.exitOnStdinEof = true; break;
      case '--refuse': {
        const [dest, part, times] = val().split(':');
        o.refuse.push({ dest, part: Number(part), left: Number(times) });
        break;
      }
      default: usage('unknown argument ' + a);
    }
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) usage('--port is required (0 = ephemeral)');
  if (!o.log) usage('--log is required');
  if (!Number.isFinite(o.receiptDelayMs) || o.receiptDelayMs < 0) usage('bad --receipt-delay-ms');
  return o;
}

const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------- logging

// One JSON object per line, appended synchronously so a test that reads the
// file right after getting a response sees the line.
function log(obj) {
  try {
    fs.appendFileSync(opts.log, JSON.stringify(obj) + '\n');
  } catch (e) {
    process.stderr.write('smsc: cannot write log: ' + e.message + '\n');
  }
}

// ---------------------------------------------------------------- smpp library adjustments

const PDU = smpp.PDU;
const E = smpp.errors;
const LINKAGE_KEY_TAG = 0x1401;
const SMSC_SYSTEM_ID = 'linkage-smsc';

// The idempotency key TLV. Registered as a raw buffer (not as the library's
// tlv cstring type, which ignores the TLV length and scans for a NUL) so that
// both "key\0" and plain "key" octets are read exactly.
smpp.addTLV('linkage_key', { id: LINKAGE_KEY_TAG, type: smpp.types.tlv.buffer });

// The library decodes short_message / message_payload into {udh, message} with
// its own charset guesses (data_coding 0 as GSM 03.38, which turns '@' into
// '¡'). The simulator wants the raw octets and decodes them itself; encoding
// (for the deliver_sm it sends, always given as Buffers) is left as it was.
const passThroughDecode = { encode: smpp.filters.message.encode, decode: (v) => v };
smpp.commands.submit_sm.params.short_message.filter = passThroughDecode;
smpp.tlvs.message_payload.filter = passThroughDecode;

// Framing checks the library lacks: a command_length under 16 would otherwise
// desynchronise or hang the stream.
const origCommandLength = PDU.commandLength;
PDU.commandLength = function (stream) {
  const len = origCommandLength.call(this, stream);
  if (len !== false && len < 16) {
    const e = new Error('PDU length was too small (' + len + ', minimum is 16).');
    e.framing = true;
    throw e;
  }
  return len;
};
// Keep the header of a PDU whose body fails to parse, so it can be nacked with
// its own sequence_number (the bytes are consumed, so framing is intact).
PDU.fromStream = function (stream, commandLength) {
  const body = stream.read(commandLength - 4);
  if (!body) return false;
  const head = Buffer.alloc(4);
  head.writeUInt32BE(commandLength, 0);
  const buf = Buffer.concat([head, body]);
  try {
    return new PDU(buf);
  } catch (e) {
    e.badPdu = {
      command_id: buf.readUInt32BE(4),
      sequence_number: buf.readUInt32BE(12),
      hex: buf.subarray(0, 64).toString('hex'),
    };
    throw e;
  }
};

// ---------------------------------------------------------------- text helpers

function decodeUcs2Be(buf) {
  let s = '';
  for (let i = 0; i + 1 < buf.length; i += 2) s += String.fromCharCode(buf.readUInt16BE(i));
  return s;
}

function encodeUcs2Be(str) {
  const buf = Buffer.alloc(str.length * 2);
  for (let i = 0; i < str.length; i++) buf.writeUInt16BE(str.charCodeAt(i), i * 2);
  return buf;
}

function decodeText(buf, dataCoding) {
  if (dataCoding === 8) return decodeUcs2Be(buf);
  // 0 (SMSC default), 1 (IA5/ASCII), 3 (Latin-1) and anything else: one octet
  // is one character, which is exact for ASCII and Latin-1.
  return buf.toString('latin1');
}

// Splits a user data buffer into {udh, ref, part, parts, body}. Knows the
// concatenation IEs 0x00 (8-bit reference) and 0x08 (16-bit reference).
function splitUserData(buf, udhi) {
  const out = { udh: null, ref: null, part: 1, parts: 1, body: buf, udhError: null };
  if (!udhi || buf.length === 0) return out;
  const udhl = buf[0];
  if (udhl + 1 > buf.length) {
    out.udhError = 'UDH length ' + udhl + ' exceeds user data length ' + buf.length;
    return out;
  }
  out.udh = buf.subarray(1, 1 + udhl);
  out.body = buf.subarray(1 + udhl);
  let p = 0;
  const udh = out.udh;
  while (p + 2 <= udh.length) {
    const iei = udh[p];
    const len = udh[p + 1];
    const d = udh.subarray(p + 2, p + 2 + len);
    if (d.length < len) {
      out.udhError = 'truncated information element 0x' + iei.toString(16);
      break;
    }
    if (iei === 0x00 && len === 3) {
      out.ref = d[0];
      out.parts = d[1];
      out.part = d[2];
    } else if (iei === 0x08 && len === 4) {
      out.ref = d.readUInt16BE(0);
      out.parts = d[2];
      out.part = d[3];
    }
    p += 2 + len;
  }
  return out;
}

// The key TLV's value: UTF-8, with or without the trailing NUL of a C-string.
function readKey(pdu) {
  let raw = pdu.linkage_key;
  if (raw === undefined || raw === null) return null;
  if (!Buffer.isBuffer(raw)) raw = Buffer.from(String(raw), 'utf8');
  let end = raw.length;
  while (end > 0 && raw[end - 1] === 0) end--;
  if (end === 0) return null;
  return raw.subarray(0, end).toString('utf8');
}

function smppDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  return (
    p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) + p(d.getUTCHours()) + p(d.getUTCMinutes())
  );
}

// ---------------------------------------------------------------- SMSC state

const idPrefix = Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0');
let idCounter = 0;
function newMessageId() {
  idCounter = (idCounter + 1) % 0x1000000;
  return idPrefix + idCounter.toString(16).padStart(6, '0');
}

const dedupe = new Map(); // `${key}\u0000${part}` -> message_id
let sessionCounter = 0;
const sessions = new Set(); // live session states
// Deliveries (receipts, MOs) that found no live receiving session; sent to the
// next session that binds as receiver/transceiver, as a real SMSC would.
const undelivered = [];
let moRef = 0;

function canReceive(st) {
  return st.alive && (st.bound === 'transceiver' || st.bound === 'receiver');
}
function canTransmit(st) {
  return st.alive && (st.bound === 'transceiver' || st.bound === 'transmitter');
}

// Sends one deliver_sm and reports the outcome once: callback(acked, status|null, reason|null).
function sendDeliver(st, fields, done) {
  let finished = false;
  const finish = (acked, status, reason) => {
    if (finished) return;
    finished = true;
    st.pending.delete(entry);
    done(acked, status, reason);
  };
  const entry = { fail: (reason) => finish(false, null, reason) };
  if (!canReceive(st)) return finish(false, null, 'session not bound to receive');
  st.pending.add(entry);
  let sent;
  try {
    sent = st.session.send(new PDU('deliver_sm', fields), (resp) =>
      finish(resp.command_status === 0, resp.command_status, null)
    );
  } catch (e) {
    return finish(false, null, 'send failed: ' + e.message);
  }
  if (!sent) finish(false, null, 'socket not writable');
}

function receiptFields(r) {
  const text =
    'id:' + r.message_id + ' sub:001 dlvr:001 submit date:' + r.submitDate + ' done date:' + smppDate(new Date()) +
    ' stat:DELIVRD err:000 text:';
  return {
    source_addr_ton: r.dest_ton,
    source_addr_npi: r.dest_npi,
    source_addr: r.dest,
    dest_addr_ton: r.source_ton,
    dest_addr_npi: r.source_npi,
    destination_addr: r.source,
    esm_class: smpp.consts.ESM_CLASS.MC_DELIVERY_RECEIPT,
    data_coding: 0,
    short_message: Buffer.from(text, 'ascii'),
    receipted_message_id: r.message_id,
    message_state: smpp.consts.MESSAGE_STATE.DELIVERED,
  };
}

function deliverReceipt(st, r) {
  sendDeliver(st, receiptFields(r), (acked, status, reason) => {
    const line = { event: 'receipt', message_id: r.message_id, acked, session: st.id };
    if (status !== null && status !== 0) line.status = status;
    if (reason) line.reason = reason;
    if (r.attempt > 1) line.attempt = r.attempt;
    log(line);
    if (!acked && status === null) {
      // Never reached the ESME (session gone): keep it for the next bind.
      r.attempt++;
      undelivered.push({ kind: 'receipt', item: r });
    }
  });
}

function receivingTarget(preferred) {
  if (preferred && canReceive(preferred)) return preferred;
  for (const st of sessions) if (canReceive(st) && (!preferred || st.systemId === preferred.systemId)) return st;
  return null;
}

function scheduleReceipt(st, r) {
  setTimeout(() => {
    const target = receivingTarget(st);
    if (target) deliverReceipt(target, r);
    else undelivered.push({ kind: 'receipt', item: r });
  }, opts.receiptDelayMs);
}

function flushUndelivered(st) {
  if (!canReceive(st) || undelivered.length === 0) return;
  const items = undelivered.splice(0, undelivered.length);
  for (const u of items) {
    if (u.kind === 'receipt') {
      if (u.item.systemId !== null && u.item.systemId !== st.systemId) {
        undelivered.push(u);
        continue;
      }
      deliverReceipt(st, u.item);
    } else {
      deliverMo(st, u.item);
    }
  }
}

// ---------------------------------------------------------------- PDU handlers

function handleBind(st, pdu) {
  const mode = pdu.command.replace('bind_', '');
  let status = 0;
  if (st.bound) status = E.ESME_RALYBND;
  else if (opts.systemId !== null && pdu.system_id !== opts.systemId) status = E.ESME_RBINDFAIL;
  else if (opts.password !== null && pdu.password !== opts.password) status = E.ESME_RINVPASWD;
  log({ event: 'bind', session: st.id, mode, system_id: pdu.system_id, status });
  if (status) {
    st.session.send(pdu.response({ command_status: status }));
    return;
  }
  st.bound = mode;
  st.systemId = pdu.system_id;
  st.session.send(pdu.response({ system_id: SMSC_SYSTEM_ID }));
  flushUndelivered(st);
}

function handleSubmit(st, pdu) {
  if (!canTransmit(st)) {
    st.session.send(pdu.response({ command_status: E.ESME_RINVBNDSTS }));
    log({ event: 'error', session: st.id, error: 'submit_sm while not bound as transmitter/transceiver' });
    return;
  }
  if (!pdu.destination_addr) {
    st.session.send(pdu.response({ command_status: E.ESME_RINVDSTADR }));
    log({ event: 'error', session: st.id, error: 'submit_sm without destination_addr' });
    return;
  }
  const dc = pdu.data_coding || 0;
  const udhi = (pdu.esm_class & 0x40) !== 0;
  let ud = Buffer.isBuffer(pdu.short_message) ? pdu.short_message : Buffer.alloc(0);
  if (ud.length === 0 && Buffer.isBuffer(pdu.message_payload)) ud = pdu.message_payload;
  const split = splitUserData(ud, udhi);
  if (split.udhError) log({ event: 'error', session: st.id, error: 'bad UDH: ' + split.udhError });
  const key = readKey(pdu);
  const text = decodeText(split.body, dc);
  const refusal = opts.refuse.find((r) => r.dest === pdu.destination_addr && r.part === split.part && r.left > 0);
  if (refusal) {
    refusal.left--;
    st.session.send(pdu.response({ command_status: E.ESME_RSUBMITFAIL }));
    log({ event: 'refused', key, dest: pdu.destination_addr, part: split.part, parts: split.parts, session: st.id });
    return;
  }

  let messageId = null;
  let duplicate = false;
  if (key !== null) {
    const dk = key + '\u0000' + split.part;
    if (dedupe.has(dk)) {
      messageId = dedupe.get(dk);
      duplicate = true;
    } else {
      messageId = newMessageId();
      dedupe.set(dk, messageId);
    }
  } else {
    messageId = newMessageId();
  }

  st.session.send(pdu.response({ message_id: messageId }));
  log({
    event: 'submit',
    key,
    source: pdu.source_addr || '',
    dest: pdu.destination_addr,
    data_coding: dc,
    ref: split.ref,
    part: split.part,
    parts: split.parts,
    text,
    message_id: messageId,
    duplicate,
    registered_delivery: pdu.registered_delivery || 0,
    session: st.id,
  });

  if (opts.receipts && (pdu.registered_delivery & 1)) {
    scheduleReceipt(st, {
      message_id: messageId,
      source: pdu.source_addr,
      source_ton: pdu.source_addr_ton,
      source_npi: pdu.source_addr_npi,
      dest: pdu.destination_addr,
      dest_ton: pdu.dest_addr_ton,
      dest_npi: pdu.dest_addr_npi,
      submitDate: smppDate(new Date()),
      systemId: st.systemId,
      attempt: 1,
    });
  }
}

function handlePdu(st, pdu) {
  if (pdu.isResponse()) {
    // deliver_sm_resp / enquire_link_resp are matched by the library's callbacks.
    if (pdu.command === 'generic_nack' || pdu.command === 'unknown') {
      log({ event: 'error', session: st.id, error: 'peer sent ' + pdu.command, status: pdu.command_status });
    }
    return;
  }
  switch (pdu.command) {
    case 'bind_transceiver':
    case 'bind_transmitter':
    case 'bind_receiver':
      return handleBind(st, pdu);
    case 'enquire_link':
      st.session.send(pdu.response());
      return;
    case 'unbind':
      log({ event: 'unbind', session: st.id });
      st.bound = null;
      st.session.send(pdu.response(), () => st.session.close());
      return;
    case 'submit_sm':
      return handleSubmit(st, pdu);
    case 'unknown':
      log({ event: 'error', session: st.id, error: 'unknown command_id 0x' + (pdu.command_id >>> 0).toString(16) });
      st.session.send(pdu.response()); // generic_nack ESME_RINVCMDID
      return;
    default:
      log({ event: 'error', session: st.id, error: 'unsupported command ' + pdu.command });
      st.session.send(pdu.response({ command_status: E.ESME_RINVCMDID }));
  }
}

// ---------------------------------------------------------------- mobile-originated messages

function moParts(text) {
  const ucs2 = /[^\x00-\x7f]/.test(text);
  if (!ucs2) {
    const bytes = Buffer.from(text, 'latin1');
    if (bytes.length <= 160) return { dc: 0, parts: [bytes], ucs2 };
    const parts = [];
    for (let i = 0; i < bytes.length; i += 153) parts.push(bytes.subarray(i, i + 153));
    return { dc: 0, parts, ucs2 };
  }
  if (text.length <= 70) return { dc: 8, parts: [encodeUcs2Be(text)], ucs2 };
  const parts = [];
  let i = 0;
  while (i < text.length) {
    let end = Math.min(i + 67, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--; // keep surrogate pairs whole
    parts.push(encodeUcs2Be(text.slice(i, end)));
    i = end;
  }
  return { dc: 8, parts, ucs2 };
}

function deliverMo(st, mo) {
  const n = mo.parts.length;
  mo.parts.forEach((body, idx) => {
    let sm = body;
    let esm = 0;
    if (n > 1) {
      sm = Buffer.concat([Buffer.from([0x05, 0x00, 0x03, mo.ref, n, idx + 1]), body]);
      esm = 0x40;
    }
    sendDeliver(
      st,
      { source_addr: mo.from, destination_addr: mo.to, esm_class: esm, data_coding: mo.dc, short_message: sm },
      (acked, status, reason) => {
        const line = { event: 'mo_ack', session: st.id, from: mo.from, to: mo.to, part: idx + 1, parts: n, acked };
        if (status !== null && status !== 0) line.status = status;
        if (reason) line.reason = reason;
        log(line);
      }
    );
  });
}

function handleStdinLine(line) {
  line = line.replace(/\r$/, '');
  if (line.trim() === '') return;
  const m = /^MO\s+(\S+)\s+(\S+)\s(.*)$/.exec(line);
  if (!m) {
    log({ event: 'error', error: 'bad stdin command', line });
    return;
  }
  const [, from, to, text] = m;
  const { dc, parts } = moParts(text);
  moRef = (moRef + 1) & 0xff;
  const mo = { from, to, text, dc, parts, ref: moRef };
  const targets = [...sessions].filter(canReceive);
  log({ event: 'mo', from, to, text, data_coding: dc, parts: parts.length, sessions: targets.length, queued: targets.length === 0 });
  if (targets.length === 0) undelivered.push({ kind: 'mo', item: mo });
  for (const st of targets) deliverMo(st, mo);
}

// ---------------------------------------------------------------- server

const server = smpp.createServer((session) => {
  const st = { id: ++sessionCounter, session, bound: null, systemId: null, alive: true, pending: new Set() };
  sessions.add(st);
  log({ event: 'connect', session: st.id, peer: session.socket.remoteAddress + ':' + session.socket.remotePort });

  session.on('pdu', (pdu) => {
    try {
      handlePdu(st, pdu);
    } catch (e) {
      log({ event: 'error', session: st.id, error: 'handler: ' + (e && e.stack ? e.stack : String(e)) });
    }
  });

  session.on('error', (e) => {
    const framing = e && (e.framing || /^PDU length was too large/.test(e.message));
    if (!(e && e.badPdu) && !framing) {
      // Socket-level (ECONNRESET, EPIPE, ...): the client went away; 'close' follows.
      st.lastSocketError = (e && (e.code || e.message)) || 'error';
      return;
    }
    log({ event: 'error', session: st.id, error: String(e && e.message), pdu: e && e.badPdu ? e.badPdu : undefined });
    // The library leaves the session stuck after a parse error; recover it.
    session._busy = false;
    session._command_length = null;
    if (e && e.badPdu) {
      const isResp = (e.badPdu.command_id & 0x80000000) !== 0;
      if (!isResp) {
        session.send(
          new PDU('generic_nack', { command_status: E.ESME_RINVCMDLEN, sequence_number: e.badPdu.sequence_number })
        );
      }
      setImmediate(() => {
        try {
          if (st.alive) session._extractPDUs();
        } catch (e2) {
          log({ event: 'error', session: st.id, error: 'resume: ' + e2.message });
        }
      });
    } else {
      // Framing lost (length out of range): nothing sensible can follow.
      session.destroy();
    }
  });

  session.on('close', () => {
    st.alive = false;
    sessions.delete(st);
    const pending = [...st.pending];
    log({ event: 'close', session: st.id, reason: st.lastSocketError || null, pending: pending.length });
    for (const p of pending) p.fail('session closed before deliver_sm_resp');
  });
});

server.on('error', (e) => {
  process.stderr.write('smsc: server error: ' + e.message + '\n');
  log({ event: 'error', error: 'server: ' + e.message });
  if (!server.listening) process.exit(1);
});

process.on('uncaughtException', (e) => {
  log({ event: 'error', error: 'uncaught: ' + (e && e.stack ? e.stack : String(e)) });
});

server.listen(opts.port, opts.host, () => {
  const port = server.address().port;
  log({ event: 'listening', port });
  process.stdout.write('LISTENING ' + port + '\n');
});

const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on('line', (line) => {
  try {
    handleStdinLine(line);
  } catch (e) {
    log({ event: 'error', error: 'stdin: ' + e.message });
  }
});
rl.on('close', () => {
  if (opts.exitOnStdinEof) process.exit(0);
});
process.stdin.on('error', () => {});
