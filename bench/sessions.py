#!/usr/bin/env python3
"""Logs in distinct synthetic residents through the portal's test IdP (the real login flow, not a
backdoor) and prints one line per session: the session cookie and a letter path of theirs.

usage: sessions.py BASE_URL DATABASE_URL COUNT   (sqlite://FILE or postgres://…)
"""
import http.cookiejar
import random
import re
import sys
import urllib.parse
import urllib.request

from db import rows as query

base, db, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = query(db, "select recipient_fnr, max(public_id) from letters where recipient_fnr is not null "
                 "group by recipient_fnr order by recipient_fnr")
random.Random(7).shuffle(rows)
for fnr, letter in rows[:count]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    request_id = re.search(r'name="request_id" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"request_id": request_id, "pid": fnr,
                                   "acr": "idporten-loa-substantial"}).encode()
    landed = opener.open(f"{base}/test-idp/authorize", data=form)
    assert landed.geturl().endswith("/min-side"), landed.geturl()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar if c.name.endswith("minside"))
    print(f"{cookie}\t/min-side/meldinger/{letter}")
