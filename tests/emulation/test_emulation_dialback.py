"""The coordinator's listener for processes on other machines: a connection that says nothing is dropped
after HANDSHAKE_TIMEOUT_S and holds up no process that dials meanwhile."""

import queue
import socket
import struct
import time
from multiprocessing.connection import Client

from gorila_sim.emulation.auth import new_key
from gorila_sim.emulation.on_ray import HANDSHAKE_TIMEOUT_S, DialBack


def test_a_silent_connection_is_dropped_and_holds_up_no_process_that_dials_meanwhile():
    key = new_key()
    connected: queue.Queue = queue.Queue()
    listener = DialBack(socket.create_server(("127.0.0.1", 0)), key, lambda *got: connected.put(got))
    silent = socket.create_connection(listener.address)
    try:
        opened = time.monotonic()
        process = Client(listener.address, authkey=key)
        process.send(("hello", 3))
        number, served = connected.get(timeout=HANDSHAKE_TIMEOUT_S / 2)
        assert number == 3 and time.monotonic() - opened < HANDSHAKE_TIMEOUT_S / 2  # not after the silent one
        served.send("assign")
        assert process.recv() == "assign"
        with socket.socket(fileno=served.fileno()) as view:  # a process's connection has no timeout
            assert struct.unpack("ll", view.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)) == (0, 0)
            view.detach()

        silent.settimeout(HANDSHAKE_TIMEOUT_S * 3)
        while silent.recv(4096):  # the listener's challenge, then its end
            pass
        assert HANDSHAKE_TIMEOUT_S * 0.9 <= time.monotonic() - opened < HANDSHAKE_TIMEOUT_S * 2
        assert connected.empty()
        process.close()
        served.close()
    finally:
        silent.close()
        listener.close()


def test_a_dialer_without_the_key_is_not_a_process_of_the_run():
    connected: queue.Queue = queue.Queue()
    listener = DialBack(socket.create_server(("127.0.0.1", 0)), new_key(), lambda *got: connected.put(got))
    try:
        try:
            Client(listener.address, authkey=new_key()).send(("hello", 0))
        except Exception as error:  # multiprocessing's AuthenticationError, or the listener's end
            assert "digest" in str(error) or isinstance(error, (EOFError, OSError)), error
        time.sleep(0.2)
        assert connected.empty()
    finally:
        listener.close()
