#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/fuzz-store.c: small synmesh.db files
(512-byte pages, so a whole database is a few KiB) with the schema of
engine/store/sm-store.c, a session with samples, events and a
recommendation; and the same with the header's user_version made negative
(offset 60 = 0x80), newer than this build knows, and at schema 1.
Standard library only.  Run from this folder."""
import os
import sqlite3
import struct

OUT = 'store'

SCHEMA_1 = """
CREATE TABLE sessions (id INTEGER PRIMARY KEY, name TEXT NOT NULL, started_ms INTEGER NOT NULL,
  ended_ms INTEGER, host TEXT, cpu TEXT, model TEXT, config TEXT);
CREATE TABLE metrics (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  unit TEXT NOT NULL, kind INTEGER NOT NULL);
CREATE TABLE samples (session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  metric_id INTEGER NOT NULL REFERENCES metrics (id), t0_ms INTEGER NOT NULL, n INTEGER NOT NULL,
  data BLOB NOT NULL, PRIMARY KEY (session_id, metric_id, t0_ms)) WITHOUT ROWID;
CREATE TABLE events (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions (id)
  ON DELETE CASCADE, t_ms INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT);
CREATE INDEX events_by_session ON events (session_id, t_ms);
CREATE TABLE recommendations (session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  number INTEGER NOT NULL, t_ms INTEGER NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL,
  title TEXT NOT NULL, evidence TEXT, expected TEXT, action TEXT, knob INTEGER, old_value REAL,
  new_value REAL, status TEXT NOT NULL CHECK (status IN ('open', 'applied', 'dismissed', 'reverted')),
  outcome TEXT, worse INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (session_id, number));
"""


def chunk(t0, samples):
    """(uint32 dt, float64 value) little endian, as sm_store_decode_chunk reads."""
    return b''.join(struct.pack('<Id', t - t0, v) for t, v in samples)


def make(name, version=2):
    path = '%s/%s' % (OUT, name)
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    db.execute('PRAGMA page_size = 512')
    db.executescript(SCHEMA_1)
    if version >= 2:
        db.execute('ALTER TABLE sessions ADD COLUMN thinned_ms INTEGER')
    db.execute("INSERT INTO sessions (name, started_ms, ended_ms, host, cpu, model, config) "
               "VALUES ('seed', 1700000000000, 1700000010000, 'host', 'cpu', 'preset micro', '{\"threads\": 2}')")
    db.execute("INSERT INTO metrics (key, name, unit, kind) VALUES ('test.ramp', 'Ramp', '', 0)")
    db.execute("INSERT INTO metrics (key, name, unit, kind) VALUES ('test.square', 'Square', 'µs', 0)")
    for metric in (1, 2):
        for t0 in (0, 2000):
            samples = [(t0 + 250 * i, float(i * metric)) for i in range(8)]
            db.execute('INSERT INTO samples VALUES (1, ?, ?, ?, ?)', (metric, t0, len(samples), chunk(t0, samples)))
    db.execute("INSERT INTO events (session_id, t_ms, kind, detail) VALUES (1, 0, 'model', 'preset micro')")
    db.execute("INSERT INTO events (session_id, t_ms, kind, detail) VALUES (1, 500, 'knob', 'threads 2 → 1')")
    db.execute("INSERT INTO recommendations VALUES (1, 1, 250, 'fragmentation', 'warning', 'Fragmented', "
               "'70 %', 'less', 'Compact', 6, 0, 1, 'applied', '70 % → 0 %', 0)")
    db.execute('PRAGMA user_version = %d' % version)
    db.commit()
    db.execute('VACUUM')
    db.close()
    return path


def patch_version(path, raw):
    with open(path, 'r+b') as f:
        f.seek(60)
        f.write(raw)


os.makedirs(OUT, exist_ok=True)
make('session.db')
make('schema-1.db', version=1)
patch_version(make('negative-version.db'), b'\x80\x00\x00\x02')
patch_version(make('newer-version.db'), struct.pack('>i', 3))
