#!/usr/bin/env python3
"""Submits one message with PyPI's cmppy (a CMPP 3.0 client nobody on linkage wrote) to the
gateway simulator, to check the simulator against a client that is not ours:

    cmppy_submit.py PORT SP_ID SECRET MOBILE TEXT

prints `result=<n> msg_id=<id>`."""

import sys

import cmppy
from cmppy.request import SubmitReq

port, sp_id, secret, mobile, text = sys.argv[1:6]
client = cmppy.Cmppy("127.0.0.1", int(port), sp_id, secret)
answer = client.request(SubmitReq(sp_id, text, src_id="10690001", dest_terminal_id=[mobile], registered_delivery=1))
if answer is None:
    print("refused")
else:
    print("result=%d msg_id=%d" % (answer.result, answer.msg_id))
