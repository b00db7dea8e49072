"""cocotb testbench of a generated design's AXI top (`<name>_axi_tb_harness`).

An independent client of the design: it talks to `<name>_axi_top` only
through cocotbext-axi's bus models (an `AxiLiteMaster` on the register map,
an `AxiRamRead` holding the K and V rows, an `AxiStreamSource` of queries
and an `AxiStreamSink` of output rows, each with random pauses), plus the
behavioral crossbar's programming port. It reads the stimulus file the
golden model writes for the Verilator testbench (hw_tests/README.md) and
prints the same `RUN`, `CSR`, `MISMATCH`, `TIMEOUT` and `PASS` lines to the
file named by SPRINT_AXI_LOG.

On top of the outputs and counters it checks every AXI4 read burst: its
address, length, size and type against the bursts the expected fetches
need (4 KB boundary rule included), and that AXI_STATUS stays 0. Before the
first run it checks that unmapped addresses answer SLVERR. Two commands of
its own make errors for the tests of these checks: `query HEX B` (a
misplaced TLAST) and `slverr N` (an R beat answered SLVERR).

Run as a script, it builds the harness with Icarus Verilog through cocotb's
runner and runs this module on one stimulus file:

    python axi_tb.py --design DIR --top NAME_axi_tb_harness --stim FILE --log FILE \
        --geometry FILE --build DIR
"""

import argparse
import json
import logging
import os
import random
import sys
from collections import deque
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, ReadOnly
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiReadBus,
    AxiRamRead,
    AxiResp,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

# Register word indices (src/csr.rs; byte address = 4 x index).
CSR_CTRL, CSR_STATUS = 0x0, 0x1
CSR_K_BASE, CSR_V_BASE, CSR_ROW_STRIDE, CSR_AXI_STATUS = 0x10, 0x11, 0x12, 0x13
# Words the map leaves unmapped: they must answer SLVERR.
UNMAPPED_WORDS = (0x14, 0x1F)
PAGE_BYTES, MAX_BURST = 4096, 256


class Failure(Exception):
    """A mismatch, timeout or malformed stimulus: ends the simulation."""


def pause_generator(rng, percent):
    """Random pauses: True (pause) with `percent` % chance each cycle."""
    while True:
        yield rng.randrange(100) < percent


class Layout:
    """Where the K and V rows sit in the AXI memory: rows of `row_bytes`
    (whole data beats) at `stride` bytes apart. The bases put K rows across
    a 4 KB boundary, so multi-beat rows need split bursts."""

    def __init__(self, data_bytes, row_beats, seq_len):
        self.data_bytes = data_bytes
        self.row_bytes = row_beats * data_bytes
        self.stride = self.row_bytes + data_bytes
        self.k_base = PAGE_BYTES - data_bytes * max(1, row_beats // 2)
        span = seq_len * self.stride
        self.v_base = ((self.k_base + span) // PAGE_BYTES + 1) * PAGE_BYTES + 3 * data_bytes
        self.size = self.v_base + span + PAGE_BYTES

    def bursts(self, key):
        """(address, beats) of the INCR bursts that read key's K, then V row."""
        out = []
        for base in (self.k_base, self.v_base):
            addr, left = base + key * self.stride, self.row_bytes // self.data_bytes
            while left:
                room = (PAGE_BYTES - addr % PAGE_BYTES) // self.data_bytes
                beats = min(left, room, MAX_BURST)
                out.append((addr, beats))
                addr += beats * self.data_bytes
                left -= beats
        return out


class Bench:
    def __init__(self, dut, stim_path, log_path, geometry_path):
        self.dut = dut
        self.lines = Path(stim_path).read_text().splitlines()
        self.log = open(log_path, "w")
        self.params = {}
        self.cycle = 0
        self.checks = 0
        self.label = "none"
        self.expected_rows = deque()   # (query index, row)
        self.expected_bursts = deque()  # (query index, key, address, beats)
        self.outputs = 0
        self.words = 0
        self.failure = None
        self.geometry_path = geometry_path
        self.slverr_in = None  # R beats to send before one answered SLVERR

    def emit(self, text):
        self.log.write(text + "\n")
        self.log.flush()

    def fail(self, text):
        if self.failure is None:
            self.failure = text
            self.emit(text)
        raise Failure(text)

    # ---------------------------------------------------------------- setup
    def geometry(self, path):
        """The AXI top's widths, as `sprint-rtl verify --interface axi`
        derived them (src/golden/axi.rs), checked against the ports."""
        g = json.loads(Path(path).read_text())
        self.data_bytes = g["data_bytes"]
        self.q_chunk_bits = g["q_chunk_bits"]
        self.out_chunk_bits = g["out_chunk_bits"]
        self.out_bits = g["out_bits"]
        self.chunks = g["chunks"]
        ports = [(self.dut.m_axi_rdata, 8 * self.data_bytes),
                 (self.dut.s_axis_q_tdata, g["q_beat_bits"]),
                 (self.dut.m_axis_out_tdata, g["out_beat_bits"])]
        for port, bits in ports:
            if len(port) != bits:
                self.fail(f"ERROR line 0: {port._name} is {len(port)} bits, geometry says {bits}")
        self.layout = Layout(self.data_bytes, g["row_beats"], g["seq_len"])

    async def start_models(self):
        dut = self.dut
        rng = random.Random(self.params["tb_seed"])
        idle, stall = self.params["idle_percent"], self.params["stall_percent"]
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        dut.tb_rst.value = 1
        dut.prog_valid.value = 0
        dut.prog_key.value = 0
        dut.prog_row.value = 0
        dut.xbar_seed.value = 0
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.tb_rst)
        self.ram = AxiRamRead(
            AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.tb_rst, size=self.layout.size
        )
        self.answer_slverr_on_request()
        self.ram.ar_channel.set_pause_generator(pause_generator(rng, idle))
        self.ram.r_channel.set_pause_generator(pause_generator(rng, idle))
        self.q_source = AxiStreamSource(
            AxiStreamBus.from_prefix(dut, "s_axis_q"), dut.clk, dut.tb_rst, byte_lanes=1
        )
        self.q_source.set_pause_generator(pause_generator(rng, idle))
        self.out_sink = AxiStreamSink(
            AxiStreamBus.from_prefix(dut, "m_axis_out"), dut.clk, dut.tb_rst, byte_lanes=1
        )
        self.out_sink.set_pause_generator(pause_generator(rng, stall))
        # The bus models log every transfer at INFO: keep warnings only.
        for prefix in ("s_axil", "m_axi", "s_axis_q", "m_axis_out"):
            logging.getLogger(f"cocotb.{dut._name}.{prefix}").setLevel(logging.WARNING)
        cocotb.start_soon(self.count_cycles())
        cocotb.start_soon(self.watch_bursts())
        cocotb.start_soon(self.watch_outputs())

    def answer_slverr_on_request(self):
        """Wraps the memory model's R channel so that, after `slverr N`, the
        beat after the next N answers SLVERR. Its data stays the memory's
        (AxiRamRead answers SLVERR only with zeroed data), so the outputs
        still match and only AXI_STATUS bit 0 tells the error."""
        send = self.ram.r_channel.send

        async def send_beat(r):
            if self.slverr_in is not None:
                if self.slverr_in == 0:
                    r.rresp = AxiResp.SLVERR
                    self.slverr_in = None
                else:
                    self.slverr_in -= 1
            await send(r)

        self.ram.r_channel.send = send_beat

    async def count_cycles(self):
        while True:
            await RisingEdge(self.dut.clk)
            self.cycle += 1

    # ------------------------------------------------------------- monitors
    async def watch_bursts(self):
        """Every AR handshake against the next expected burst."""
        dut = self.dut
        size = (self.data_bytes - 1).bit_length()
        while True:
            await RisingEdge(dut.clk)
            await ReadOnly()
            if not (dut.m_axi_arvalid.value and dut.m_axi_arready.value):
                continue
            addr = int(dut.m_axi_araddr.value)
            beats = int(dut.m_axi_arlen.value) + 1
            if int(dut.m_axi_arburst.value) != 1 or int(dut.m_axi_arsize.value) != size:
                self.report(f"MISMATCH fetch label={self.label} burst at 0x{addr:x} is not INCR "
                            f"of {self.data_bytes} bytes a beat")
                continue
            if addr // PAGE_BYTES != (addr + beats * self.data_bytes - 1) // PAGE_BYTES:
                self.report(f"MISMATCH fetch label={self.label} burst 0x{addr:x}+{beats} beats "
                            f"crosses a 4 KB boundary")
                continue
            if not self.expected_bursts:
                self.report(f"MISMATCH fetch label={self.label} unexpected burst 0x{addr:x}")
                continue
            q, key, want_addr, want_beats = self.expected_bursts.popleft()
            if (addr, beats) != (want_addr, want_beats):
                self.report(f"MISMATCH fetch label={self.label} query={q} expected key={key} "
                            f"burst 0x{want_addr:x}+{want_beats} got 0x{addr:x}+{beats}")
            self.checks += 1

    async def watch_outputs(self):
        """Every output frame against the next expected row."""
        mask = (1 << self.out_chunk_bits) - 1
        bits = self.out_bits
        while True:
            frame = await self.out_sink.recv()
            beats = list(frame.tdata)
            if len(beats) != self.chunks:
                self.report(f"MISMATCH output label={self.label} frame of {len(beats)} beats, "
                            f"expected {self.chunks} (TLAST on the last)")
                continue
            row = 0
            for b, beat in enumerate(beats):
                row |= (beat & mask) << (b * self.out_chunk_bits)
            if not self.expected_rows:
                self.report(f"MISMATCH output label={self.label} query=none element=0 "
                            f"expected=none got=0x{row:x}")
                continue
            q, want = self.expected_rows.popleft()
            if row != want:
                elems = self.chunks * self.out_chunk_bits // bits
                diff = row ^ want  # the first element that differs; `elems` if only bits above
                e = next((i for i in range(elems) if diff >> (i * bits) & ((1 << bits) - 1)), elems)
                self.report(f"MISMATCH output label={self.label} query={q} element={e} "
                            f"expected=0x{want:x} got=0x{row:x}")
            self.outputs += 1
            self.words += self.chunks * self.out_chunk_bits // bits
            self.checks += 1

    def report(self, text):
        if self.failure is None:
            self.failure = text
            self.emit(text)

    # ------------------------------------------------------------ registers
    async def write(self, word, value):
        resp = await self.axil.write(4 * word, (value & 0xFFFFFFFF).to_bytes(4, "little"))
        return resp.resp

    async def read(self, word):
        resp = await self.axil.read(4 * word, 4)
        return int.from_bytes(resp.data, "little"), resp.resp

    async def csr(self, word, value):
        if await self.write(word, value) != AxiResp.OKAY:
            self.fail(f"MISMATCH csr label={self.label} write of register {word} not OKAY")

    async def read_csr(self, word):
        value, resp = await self.read(word)
        if resp != AxiResp.OKAY:
            self.fail(f"MISMATCH csr label={self.label} read of register {word} not OKAY")
        return value

    async def program_layout(self):
        lay = self.layout
        for word, value in ((CSR_K_BASE, lay.k_base), (CSR_V_BASE, lay.v_base),
                            (CSR_ROW_STRIDE, lay.stride)):
            await self.csr(word, value)
            got = await self.read_csr(word)
            if got != value:
                self.fail(f"MISMATCH csr label=layout register {word} expected={value} got={got}")

    async def check_unmapped(self):
        for word in UNMAPPED_WORDS:
            if await self.write(word, 0) != AxiResp.SLVERR:
                self.fail(f"MISMATCH csr label=axil write of unmapped word {word} not SLVERR")
            _, resp = await self.read(word)
            if resp != AxiResp.SLVERR:
                self.fail(f"MISMATCH csr label=axil read of unmapped word {word} not SLVERR")
            self.checks += 2
        self.emit("CSR axil.unmapped SLVERR ok")

    # -------------------------------------------------------------- commands
    async def reset(self, cycles):
        dut = self.dut
        dut.tb_rst.value = 1
        await ClockCycles(dut.clk, cycles)
        self.q_source.clear()
        self.expected_rows.clear()
        self.expected_bursts.clear()
        dut.tb_rst.value = 0
        await RisingEdge(dut.clk)
        await self.program_layout()

    async def program(self, key, row):
        dut = self.dut
        dut.prog_valid.value = 1
        dut.prog_key.value = key
        dut.prog_row.value = row
        await RisingEdge(dut.clk)
        dut.prog_valid.value = 0

    def mem(self, key, k_row, v_row):
        lay = self.layout
        self.ram.write(lay.k_base + key * lay.stride, k_row.to_bytes(lay.row_bytes, "little"))
        self.ram.write(lay.v_base + key * lay.stride, v_row.to_bytes(lay.row_bytes, "little"))

    def query(self, row, tlast_beat=None):
        """Queues a query row; with `tlast_beat`, TLAST is set on that beat too
        (two frames), a misplaced TLAST that the design must flag."""
        mask = (1 << self.q_chunk_bits) - 1
        beats = [(row >> (b * self.q_chunk_bits)) & mask for b in range(self.chunks)]
        if tlast_beat is None or tlast_beat >= self.chunks - 1:
            self.q_source.send_nowait(AxiStreamFrame(beats))
        else:
            self.q_source.send_nowait(AxiStreamFrame(beats[:tlast_beat + 1]))
            self.q_source.send_nowait(AxiStreamFrame(beats[tlast_beat + 1:]))

    async def run(self, label):
        self.label = label
        self.outputs = self.words = 0
        start = self.cycle
        limit = self.params["max_cycles"]
        while True:
            if self.failure:
                raise Failure(self.failure)
            if self.cycle - start > limit:
                self.fail(f"TIMEOUT {label}")
            status = await self.read_csr(CSR_STATUS)
            if status & 2 and self.q_source.empty() and not self.expected_rows:
                break
            await ClockCycles(self.dut.clk, 8)
        if self.expected_bursts:
            q, key, addr, _ = self.expected_bursts[0]
            self.fail(f"MISMATCH fetch label={label} query={q} expected key={key} got key=none")
        errors = await self.read_csr(CSR_AXI_STATUS)
        if errors:
            self.fail(f"MISMATCH csr label={label} name=axi_status expected=0 got={errors}")
        if self.failure:
            raise Failure(self.failure)
        self.emit(f"RUN {label} outputs={self.outputs} words={self.words} "
                  f"cycles={self.cycle - start}")

    async def execute(self):
        needed = ("idle_percent", "stall_percent", "max_cycles", "tb_seed")
        started = False
        for n, line in enumerate(self.lines, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            op, args = words[0], words[1:]
            if op == "param":
                self.params[args[0]] = int(args[1])
                continue
            if not started:
                missing = [p for p in needed if p not in self.params]
                if missing:
                    self.fail(f"ERROR line {n}: missing params {missing}")
                self.geometry(self.geometry_path)
                await self.start_models()
                await self.reset(4)
                await self.check_unmapped()
                started = True
            if op == "seed":
                self.dut.xbar_seed.value = int(args[0], 16)
            elif op == "reset":
                await self.reset(int(args[0]))
            elif op == "program":
                await self.program(int(args[0]), int(args[1], 16))
            elif op == "mem":
                self.mem(int(args[0]), int(args[1], 16), int(args[2], 16))
            elif op == "csr":
                await self.csr(int(args[0]), int(args[1]))
            elif op == "slverr":
                self.slverr_in = int(args[0])
            elif op == "query":
                self.query(int(args[0], 16), int(args[1]) if len(args) > 1 else None)
            elif op == "expect":
                self.expected_rows.append((int(args[0]), int(args[1], 16)))
            elif op == "fetch":
                q, key = int(args[0]), int(args[1])
                for addr, beats in self.layout.bursts(key):
                    self.expected_bursts.append((q, key, addr, beats))
            elif op == "keep":
                pass  # the crossbar port is internal to the AXI harness
            elif op == "run":
                await self.run(args[0])
            elif op == "cycles":
                await ClockCycles(self.dut.clk, int(args[0]))
            elif op in ("expect_csr", "report_csr"):
                addr = int(args[0])
                value = await self.read_csr(addr)
                if op == "report_csr":
                    self.emit(f"CSR {args[1]} {value}")
                else:
                    want = int(args[1]) & 0xFFFFFFFF
                    if value != want:
                        self.fail(f"MISMATCH csr label={self.label} name={args[2]} "
                                  f"expected={want} got={value}")
                    self.checks += 1
                    self.emit(f"CSR {args[2]} {args[1]} ok")
            elif op == "end":
                if self.expected_rows:
                    q, _ = self.expected_rows[0]
                    self.fail(f"MISMATCH output label={self.label} query={q} row never came")
                self.emit(f"PASS checks={self.checks}")
                return
            else:
                self.fail(f"ERROR line {n}: unknown command {op}")
        self.fail("ERROR line 0: no end command")


@cocotb.test()
async def stimulus_file(dut):
    """Runs the stimulus file SPRINT_AXI_STIM, logging to SPRINT_AXI_LOG."""
    env = os.environ
    bench = Bench(dut, env["SPRINT_AXI_STIM"], env["SPRINT_AXI_LOG"], env["SPRINT_AXI_GEOMETRY"])
    try:
        await bench.execute()
    except Failure as e:
        assert False, str(e)
    finally:
        bench.log.close()


def main():
    from cocotb_tools.runner import get_results, get_runner

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--design", required=True, type=Path, help="generated design folder")
    ap.add_argument("--top", required=True, help="the AXI harness module")
    ap.add_argument("--stim", required=True, type=Path, help="stimulus file")
    ap.add_argument("--log", required=True, type=Path, help="result lines are written here")
    ap.add_argument("--geometry", required=True, type=Path, help="the AXI top's widths (JSON)")
    ap.add_argument("--build", required=True, type=Path, help="Icarus build folder")
    a = ap.parse_args()
    sources = [a.design / f for f in (a.design / "sim_filelist.f").read_text().split()]
    runner = get_runner("icarus")
    runner.build(sources=sources, hdl_toplevel=a.top, build_dir=a.build,
                 timescale=("1ns", "1ps"))
    results = runner.test(hdl_toplevel=a.top, test_module="axi_tb", build_dir=a.build,
                          test_dir=a.build, results_xml="results.xml",
                          extra_env={"SPRINT_AXI_STIM": str(a.stim.resolve()),
                                     "SPRINT_AXI_LOG": str(a.log.resolve()),
                                     "SPRINT_AXI_GEOMETRY": str(a.geometry.resolve())})
    _, failed = get_results(results)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
