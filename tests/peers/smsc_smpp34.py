#!/usr/bin/env python3
"""A second SMSC for the SMPP channel, on PyPI's smpp34 server (a Rust/tokio SMPP 3.4 engine
nobody on linkage wrote, unrelated to the npm `smpp` package of smsc.js), so the channel is
checked against two independent SMSCs.

    smsc_smpp34.py --port PORT --log FILE

prints `LISTENING <port>` once it listens. Each submit_sm is accepted with a message id and
logged as a JSON line (`{"event":"submit","dest","text","data_coding","ref","part","parts",
"key","message_id"}`, the UCS-2 text decoded, a concatenation UDH read, the 0x1401 key TLV);
when a receipt is asked for, a deliver_sm receipt (`id:… stat:DELIVRD`) goes back.
"""

import argparse
import asyncio
import json
import time

import smpp34


def log(path, **event):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(event, ensure_ascii=False) + "\n")


def split_udh(esm_class, data):
    """The message's text bytes, and its (reference, part, parts) when it is one part of a long one."""
    if not esm_class & 0x40 or not data:
        return data, None
    length = data[0]
    udh, rest = data[1:1 + length], data[1 + length:]
    i = 0
    while i + 1 < len(udh):
        tag, size = udh[i], udh[i + 1]
        value = udh[i + 2:i + 2 + size]
        if tag == 0x00 and size == 3:
            return rest, (value[0], value[2], value[1])
        if tag == 0x08 and size == 4:
            return rest, ((value[0] << 8) | value[1], value[3], value[2])
        i += 2 + size
    return rest, None


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    server = smpp34.Server(host="127.0.0.1", port=args.port, system_id="smpp34-smsc")
    await server.start()
    print("LISTENING %d" % args.port, flush=True)
    sessions, count = {}, 0
    while True:
        event = await server.next()
        if isinstance(event, smpp34.Esme):
            sessions[event.session_id] = event
            log(args.log, event="bind", system_id=event.system_id)
        elif isinstance(event, smpp34.SubmitSmEvent):
            count += 1
            message_id = "s%06d" % count
            body, part = split_udh(event.esm_class, event.short_message)
            text = body.decode("utf-16-be", "replace") if event.data_coding == 8 else body.decode("latin-1")
            key = next((t.value.rstrip(b"\x00").decode("utf-8", "replace") for t in event.tlvs if t.tag == 0x1401), None)
            event.accept(message_id)
            log(args.log, event="submit", dest=event.destination_addr, text=text, data_coding=event.data_coding,
                ref=part and part[0], part=part and part[1], parts=part and part[2], key=key, message_id=message_id)
            if event.registered_delivery & 1 and event.session_id in sessions:
                stamp = time.strftime("%y%m%d%H%M")
                receipt = "id:%s sub:001 dlvr:001 submit date:%s done date:%s stat:DELIVRD err:000 text:" % (
                    message_id, stamp, stamp)
                await sessions[event.session_id].deliver_sm(
                    event.source_addr, receipt.encode(), source_addr=event.destination_addr, esm_class=0x04)
        else:
            log(args.log, event="unbound")


if __name__ == "__main__":
    asyncio.run(main())
