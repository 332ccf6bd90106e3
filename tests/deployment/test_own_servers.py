"""The deployment tier's PostgreSQL and Redis are servers the tests started: own ports, own directories."""

import socket

import psycopg2
import pytest

from tests.fixtures.services import RESERVED_PORTS, Postgres, Redis

pytestmark = pytest.mark.deployment


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_session_servers_are_ours(test_postgres, test_redis):
    assert test_postgres.port not in RESERVED_PORTS and test_redis.port not in RESERVED_PORTS
    conn = psycopg2.connect(host="127.0.0.1", port=test_postgres.port, user="postgres", dbname="postgres")
    try:
        cur = conn.cursor()
        cur.execute("SHOW data_directory")
        assert cur.fetchone()[0] == str(test_postgres.data_dir)
    finally:
        conn.close()
    info = test_redis.command("INFO", "server").decode() + test_redis.command("INFO", "persistence").decode()
    assert f"tcp_port:{test_redis.port}\r\n" in info and "aof_enabled:0\r\n" in info


def test_stop_frees_the_port_and_removes_the_directory():
    pg, redis = Postgres().start(), Redis().start()
    try:
        assert _listening(pg.port) and _listening(redis.port)
        assert pg.version.startswith("PostgreSQL ") and redis.version.startswith("Redis ")
    finally:
        pg.stop()
        redis.stop()
    assert not _listening(pg.port) and not _listening(redis.port)
    assert not pg.root.exists() and not redis.root.exists()
