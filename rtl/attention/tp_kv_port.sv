// tp_kv_port: data plane of the paged KV cache (docs/kv-cache.md, "Data layout
// and the KV data port"): an AXI4 master (512-bit data, 64-byte beats, single
// ID) that appends each new token's INT8 K/V rows and scale codes to their
// page in external memory and streams whole KV segments to the attention
// engine. Golden twin: the byte layout of golden/int/kv_layout.h
// (tp::fx::KvLayout, kv_segment, kv_scale_code).
//
// Layout (kv_layout.h): a page of 16 token slots holds one segment per
// (layer, KV head), at kv_base + page * page_bytes + (layer * n_kv_heads +
// kv_head) * segment_bytes; a segment is 1 + pitch/2 beats: beat 0 the scale
// codes (K code of slot s at bytes 2s, 2s+1, V code at 32+2s, 33+2s, little
// endian), then the K rows (slot s at byte 64 + s * pitch), then the V rows
// (at 64 + (16 + s) * pitch); pitch = max(8, head_size rounded up to a power
// of two), so a row lies within one beat.
//
// Configuration (quasi-static, from the host; change it only while the port
// is idle, it takes effect 2 cycles later): cfg_kv_base_i (byte address,
// multiple of 64), cfg_n_layers_i (1..MaxLayers), cfg_n_kv_heads_i
// (1..MaxKvHeads), cfg_head_size_i (1..64). The port derives pitch, segment
// and page sizes itself (shift-add, no multiplier); the host supplies nothing
// derived. cfg_ok_o: the configuration is valid, i.e. the ranges above hold,
// kv_base is aligned and the region of NumPages pages ends within the
// 2^AddrWidth address space. While it is low every command is refused.
//
// Streams (valid/ready; a beat moves on an edge where valid && ready, and
// valid/data hold while valid && !ready):
//   rd_cmd   {page, layer, kv_head, last, fwd}: read one segment (one
//            attention tile); last marks the final tile of an attention job.
//            Taken into a one-entry register; rd_cmd_ready_o is high while it
//            is empty or its command moves on this cycle (a function of
//            flops), and no write command waited at the input in the
//            previous cycle. fwd (forwarding, see below): the segment will
//            get a token appended by the next write command to this kv_head.
//   out      the segments' beats in command order: out_data_o (byte i of the
//            beat at bits 8i+7:8i, exactly the memory bytes), out_seg_last_o on
//            a segment's last beat, out_job_last_o on the last beat of a
//            command with last = 1, out_err_o on an error beat (below).
//            out_valid_o/out_data_o come from flops and LUT RAM (no path from
//            out_ready_i to an output).
//   wr_cmd   {page, slot, layer, kv_head, k_row, v_row, k_scale_code,
//            v_scale_code}: append one token's K/V of one (layer, KV head).
//            Row byte i (i < head_size) at bits 8i+7:8i; bytes from head_size
//            up to the pitch are written as 0 (whatever the input holds), so a
//            written slot is exactly the golden layout. Three single-beat
//            AXI4 writes with byte strobes (only this slot's bytes change):
//            beat 0 (the 2 + 2 scale bytes), the K row's beat, the V row's beat.
//            wr_cmd_ready_o is from flops. The command is taken while the
//            read register is empty; its memory writes wait for the R beats
//            of every earlier read of the same kv_head (Ordering).
//   wr_rsp   one response per write command, in order: status 0 OK (all
//            three B responses OKAY), 1 REFUSED (no memory access), 2
//            MEM_ERROR (a B response was SLVERR/DECERR; the other beats may
//            have been written). From flops.
//   AXI4     AR/R through tp_weight_port (INCR bursts of one segment split at
//            4 KiB boundaries, up to MaxBursts in flight, data FIFO with
//            credits so rready is always high); AW/W/B: awlen 0, awsize 6,
//            INCR, wlast 1, wstrb = the slot's bytes; bready is high while the
//            response register is free. AW and W move independently.
//
// Ordering (memory order = command acceptance order between reads and writes):
//   - a read command's memory access starts only when every write command
//     accepted before it, or on the same edge, has all its B responses;
//   - a write command is accepted only when no read command is in the port's
//     read register, and its memory writes start only when every earlier
//     read of the same kv_head has all its R beats (it has read the memory;
//     its beats may still wait in the FIFO). A write touches one segment of
//     its kv_head, and segments of different kv_heads never share a byte,
//     so reads of other heads may still be in flight;
//   so a read never sees a write accepted after it, and sees the token
//   appended just before it. Reads among themselves and writes among
//   themselves are pipelined. Neither side starves: a waiting write stops new
//   reads from being taken; a read in the register stops new writes.
//
// Forwarding (decode reads a layer's segments before the new token's K/V
// exist): a read command with fwd = 1 is read from memory as any other, but
// its beats leave the port only once the next write command to the same
// kv_head has been taken (a write taken on the same edge as the read is
// earlier, not "next"), and they leave with that append's bytes (its slot's
// scale codes, K row and V row, zeros from head_size up to the pitch) in
// place of the memory's: what a read after the append would return. The
// append's memory write proceeds as usual (after its head's reads, by the
// ordering rule). A refused append releases the segment unpatched. Rules for the
// user (checked by simulation assertions): the append goes to the segment's
// page and layer; at most one fwd read per kv_head waits or is in the port,
// and the next write to that kv_head comes after its last beat left; the
// FIFO and the engine must be able to hold every beat read before the append
// (the held segment blocks the beats behind it).
//
// Errors (never silent; no memory access for a refused command):
//   - read command with page >= NumPages, layer >= n_layers, kv_head >=
//     n_kv_heads, or with cfg_ok_o low: refused and counted (err_rd_refused_o);
//     it still yields exactly ONE beat on out, in its place in command order,
//     with out_err_o = 1, out_seg_last_o = 1, out_job_last_o = its last bit and
//     undefined data, so the engine counting segments and jobs stays in step
//     and learns which tile is missing;
//   - write command with page >= NumPages, slot >= 16, layer >= n_layers,
//     kv_head >= n_kv_heads, or cfg_ok_o low: refused (response REFUSED, issued
//     once every earlier write has responded) and counted (err_wr_refused_o);
//   - B response != OKAY: the command's response is MEM_ERROR; every such B
//     is counted (err_wr_resp_o). R beat with rresp != OKAY: counted
//     (err_rd_resp_o), the beat is delivered as read.
//
// Latency (cycles between the edges at which things move, bench.h convention;
// memory latency L = AR accepted to first R beat): a read command accepted at
// edge k (port idle, no write pending) has its burst on AR at edge k + 3 and
// its first beat on out at edge k + 5 + L (command register, weight port
// command + AR registers, FIFO write, FIFO read register); a refused read's
// error beat leaves at k + 2. A write command accepted at edge k presents AW
// and W beats at edges k+1, k+2, k+3 (no AW/W stall); its response leaves
// one edge after its third B response.
// Throughput: read commands are taken one per cycle (two for a segment split
// at a 4 KiB boundary: two bursts); the output runs at one beat per cycle once
// the first beat is out, for back-to-back segments of any size, as long as
// the memory delivers a beat per cycle and MaxBursts, MaxReadCmds and
// FifoBeats cover the round trip (5-beat segments at L = 200: ~41 segments in
// flight; measured 1.000 beats/cycle after the first beat over 4000 segments,
// tp_kv_port_test). The memory must accept that many outstanding bursts. A
// write command every 4 cycles (3 AW/W beats + the register refill).
//
// Performance counters (cleared by reset, wrap): perf_rd_beats_o (memory
// beats delivered on out), perf_wr_beats_o (W beats), perf_rd_busy_o (cycles
// with a read command in the port: register, in flight or buffered),
// perf_wr_busy_o (cycles with a write command in the register or B
// responses outstanding), perf_mem_wait_o (read-busy cycles without out_valid_o),
// perf_out_stall_o (out_valid_o && !out_ready_i). Read-busy = beats + error
// beats + stalls + waits; kv_port_utilization = perf_rd_beats_o / perf_rd_busy_o.
//
// Reset (synchronous, active low) clears the control state: every command,
// burst in flight, buffered beat and pending response is dropped, counters 0.
// The memory (interconnect) must be reset with the port (AXI4 ARESETn).
//
// Resources (default parameters, Yosys 0.23 xcup, tp_kv_port.synth.json):
// see the expectations file: the W data path and the forwarding patch (two
// tp_kv_slot_bytes), the appends' rows and codes in LUT RAM (one entry per
// kv_head, read by the write register and by the patch), ten 32-bit
// counters, the weight port's 512 x 513-bit data FIFO in block RAM (15
// RAMB18E2), the read job FIFO in LUT RAM, no DSP (every product is a
// shift-add).
module tp_kv_port #(
  parameter int unsigned AddrWidth    = 34,                  // byte address bits (13..64)
  parameter int unsigned NumPages     = 64,                  // physical KV pages (>= 2); page field: $clog2(NumPages) + 1 bits
  parameter int unsigned MaxLayers    = tp_pkg::MaxLayers,   // layers (>= 2)
  parameter int unsigned MaxKvHeads   = tp_pkg::MaxKvHeads,  // KV heads per layer (>= 2)
  parameter int unsigned MaxReadCmds  = 64,                  // read commands in flight (job FIFO), power of two >= 2
  parameter int unsigned MaxBursts    = 64,                  // AR bursts in flight (weight port), >= 1
  parameter int unsigned FifoBeats    = 512,                 // read data FIFO beats, power of two >= 64
  parameter int unsigned MaxWrBeats   = 16,                  // AW beats awaiting B, >= 1
  parameter int unsigned CounterWidth = 32,                  // width of the counters (wrap around)
  // Derived field widths: do not override.
  parameter int unsigned PageWidth    = $clog2(NumPages) + 1,
  parameter int unsigned LayerWidth   = $clog2(MaxLayers),
  parameter int unsigned HeadWidth    = $clog2(MaxKvHeads),
  parameter int unsigned NLayersWidth = $clog2(MaxLayers + 1),
  parameter int unsigned NHeadsWidth  = $clog2(MaxKvHeads + 1)
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,            // synchronous reset, active low
  // Configuration (quasi-static).
  input  logic [AddrWidth-1:0]    cfg_kv_base_i,     // byte address of page 0, multiple of 64
  input  logic [NLayersWidth-1:0] cfg_n_layers_i,    // 1 .. MaxLayers
  input  logic [NHeadsWidth-1:0]  cfg_n_kv_heads_i,  // 1 .. MaxKvHeads
  input  logic [6:0]              cfg_head_size_i,   // 1 .. 64
  output logic                    cfg_ok_o,          // configuration valid (2 cycles after a change)
  // Read command stream: one segment each.
  input  logic                    rd_cmd_valid_i,
  output logic                    rd_cmd_ready_o,
  input  logic [PageWidth-1:0]    rd_cmd_page_i,
  input  logic [LayerWidth-1:0]   rd_cmd_layer_i,
  input  logic [HeadWidth-1:0]    rd_cmd_kv_head_i,
  input  logic                    rd_cmd_last_i,     // last tile of the attention job
  input  logic                    rd_cmd_fwd_i,      // hold the segment for the next append to its head (forwarding)
  // Segment beat stream (first beat: read command + 5 + memory latency).
  output logic                    out_valid_o,
  input  logic                    out_ready_i,
  output logic [511:0]            out_data_o,
  output logic                    out_seg_last_o,    // last beat of a segment (every error beat)
  output logic                    out_job_last_o,    // last beat of a command with last = 1
  output logic                    out_err_o,         // error beat of a refused read command
  // Write command stream: one token of one (layer, KV head).
  input  logic                    wr_cmd_valid_i,
  output logic                    wr_cmd_ready_o,
  input  logic [PageWidth-1:0]    wr_cmd_page_i,
  input  logic [4:0]              wr_cmd_slot_i,     // 0 .. 15
  input  logic [LayerWidth-1:0]   wr_cmd_layer_i,
  input  logic [HeadWidth-1:0]    wr_cmd_kv_head_i,
  input  logic [511:0]            wr_cmd_k_row_i,    // int8 byte i at bits 8i+7:8i, head_size used
  input  logic [511:0]            wr_cmd_v_row_i,
  input  logic [15:0]             wr_cmd_k_scale_i,  // kv_scale_code of the K scale
  input  logic [15:0]             wr_cmd_v_scale_i,
  // Write response stream (one per write command, in order).
  output logic                    wr_rsp_valid_o,
  input  logic                    wr_rsp_ready_i,
  output logic [1:0]              wr_rsp_status_o,   // 0 OK, 1 REFUSED, 2 MEM_ERROR
  // AXI4 read address channel.
  output logic                    m_axi_arvalid_o,
  input  logic                    m_axi_arready_i,
  output logic [AddrWidth-1:0]    m_axi_araddr_o,
  output logic [7:0]              m_axi_arlen_o,
  output logic [2:0]              m_axi_arsize_o,    // 6: 64 bytes per beat
  output logic [1:0]              m_axi_arburst_o,   // 1: INCR
  // AXI4 read data channel.
  input  logic                    m_axi_rvalid_i,
  output logic                    m_axi_rready_o,    // always high (credits)
  input  logic [511:0]            m_axi_rdata_i,
  input  logic [1:0]              m_axi_rresp_i,
  input  logic                    m_axi_rlast_i,
  // AXI4 write address channel.
  output logic                    m_axi_awvalid_o,
  input  logic                    m_axi_awready_i,
  output logic [AddrWidth-1:0]    m_axi_awaddr_o,
  output logic [7:0]              m_axi_awlen_o,     // 0: single-beat bursts
  output logic [2:0]              m_axi_awsize_o,    // 6
  output logic [1:0]              m_axi_awburst_o,   // 1: INCR
  // AXI4 write data channel.
  output logic                    m_axi_wvalid_o,
  input  logic                    m_axi_wready_i,
  output logic [511:0]            m_axi_wdata_o,
  output logic [63:0]             m_axi_wstrb_o,
  output logic                    m_axi_wlast_o,     // 1
  // AXI4 write response channel.
  input  logic                    m_axi_bvalid_i,
  output logic                    m_axi_bready_o,
  input  logic [1:0]              m_axi_bresp_i,
  // Performance and error counters (cleared by reset, wrap around).
  output logic [CounterWidth-1:0] perf_rd_beats_o,
  output logic [CounterWidth-1:0] perf_wr_beats_o,
  output logic [CounterWidth-1:0] perf_rd_busy_o,
  output logic [CounterWidth-1:0] perf_wr_busy_o,
  output logic [CounterWidth-1:0] perf_mem_wait_o,
  output logic [CounterWidth-1:0] perf_out_stall_o,
  output logic [CounterWidth-1:0] err_rd_refused_o,
  output logic [CounterWidth-1:0] err_wr_refused_o,
  output logic [CounterWidth-1:0] err_wr_resp_o,     // B responses != OKAY
  output logic [CounterWidth-1:0] err_rd_resp_o      // R beats with rresp != OKAY
);

  localparam int unsigned BeatAddrWidth  = AddrWidth - 6;              // address in 64-byte beats
  localparam int unsigned HLWidth        = NLayersWidth + NHeadsWidth;  // n_layers * n_kv_heads
  localparam int unsigned PageBeatsWidth = HLWidth + 6;                 // page_beats < 2^HLWidth * 64
  localparam int unsigned SegIdxWidth    = LayerWidth + NHeadsWidth;    // layer * n_kv_heads + kv_head
  localparam int unsigned RegionWidth    = ((BeatAddrWidth > PageWidth + PageBeatsWidth) ?
                                            BeatAddrWidth : PageWidth + PageBeatsWidth) + 2;
  localparam int unsigned JobPtrWidth    = $clog2(MaxReadCmds);
  localparam int unsigned PendWidth      = $clog2(MaxReadCmds * 33 + 1) + 1;  // R beats outstanding
  localparam int unsigned WrPendWidth    = $clog2(MaxWrBeats + 1);
  localparam int unsigned NumPagesBits   = $clog2(NumPages + 1);

  // ------------------------------------------------------ parameter check ---
  if (AddrWidth < 13 || AddrWidth > 64) begin : gen_addr_check
    $error("tp_kv_port: AddrWidth must be in [13, 64]");
  end
  if (NumPages < 2) begin : gen_pages_check
    $error("tp_kv_port: NumPages must be >= 2");
  end
  if (MaxLayers < 2 || MaxKvHeads < 2) begin : gen_max_check
    $error("tp_kv_port: MaxLayers and MaxKvHeads must be >= 2");
  end
  if (MaxReadCmds < 2 || (MaxReadCmds & (MaxReadCmds - 1)) != 0) begin : gen_jobs_check
    $error("tp_kv_port: MaxReadCmds must be a power of two >= 2");
  end
  if (MaxWrBeats < 1 || MaxBursts < 1) begin : gen_outstanding_check
    $error("tp_kv_port: MaxWrBeats and MaxBursts must be >= 1");
  end
  if (tp_pkg::PageSize != 16) begin : gen_page_size_check
    $error("tp_kv_port: the KV layout (golden/int/kv_layout.h) has 16-token pages");
  end
  if (PageWidth != $clog2(NumPages) + 1 || LayerWidth != $clog2(MaxLayers) || HeadWidth != $clog2(MaxKvHeads) ||
      NLayersWidth != $clog2(MaxLayers + 1) || NHeadsWidth != $clog2(MaxKvHeads + 1)) begin : gen_width_check
    $error("tp_kv_port: the field widths are derived parameters; do not override them");
  end

  // -------------------------------------------------------- configuration ---
  // Stage 1 registers the inputs and the small derived values, stage 2 the
  // page size and the validity (a quasi-static path, registered twice).
  logic [BeatAddrWidth-1:0] cfg_base_q;   // kv_base / 64
  logic [NLayersWidth-1:0] cfg_layers_q;
  logic [NHeadsWidth-1:0]  cfg_heads_q;
  logic [6:0]              cfg_hs_q;
  logic [2:0]              pl_q;            // log2(pitch): 3 .. 6
  logic [HLWidth-1:0]      hl_q;            // n_layers * n_kv_heads
  logic                    ranges_ok_q;
  logic [2:0]              pl_d;
  logic [HLWidth-1:0]      hl_d;
  logic [6:0]              seg_beats;       // 1 + pitch / 2: 5, 9, 17, 33
  logic [PageBeatsWidth-1:0] page_beats_d, page_beats_q;
  logic [RegionWidth-1:0]  region_end;      // (kv_base + NumPages * page_bytes) / 64
  logic                    cfg_ok_q;

  always_comb begin
    if (cfg_head_size_i <= 7'd8) pl_d = 3'd3;
    else if (cfg_head_size_i <= 7'd16) pl_d = 3'd4;
    else if (cfg_head_size_i <= 7'd32) pl_d = 3'd5;
    else pl_d = 3'd6;
    hl_d = '0;
    for (int i = 0; i < NLayersWidth; i++) begin
      if (cfg_n_layers_i[i]) hl_d = hl_d + (HLWidth'(cfg_n_kv_heads_i) << i);
    end
  end

  always_ff @(posedge clk_i) begin
    cfg_base_q   <= cfg_kv_base_i[AddrWidth-1:6];
    cfg_layers_q <= cfg_n_layers_i;
    cfg_heads_q  <= cfg_n_kv_heads_i;
    cfg_hs_q     <= cfg_head_size_i;
    pl_q         <= pl_d;
    hl_q         <= hl_d;
    ranges_ok_q  <= cfg_n_layers_i != '0 && 32'(cfg_n_layers_i) <= MaxLayers &&
                    cfg_n_kv_heads_i != '0 && 32'(cfg_n_kv_heads_i) <= MaxKvHeads &&
                    cfg_head_size_i != '0 && cfg_head_size_i <= 7'd64 && cfg_kv_base_i[5:0] == 6'd0;
  end

  assign seg_beats    = 7'd1 + (7'd1 << (pl_q - 3'd1));
  assign page_beats_d = PageBeatsWidth'(hl_q) + (PageBeatsWidth'(hl_q) << (pl_q - 3'd1));

  always_comb begin
    region_end = RegionWidth'(cfg_base_q);
    for (int i = 0; i < NumPagesBits; i++) begin
      if (((NumPages >> i) & 1) != 0) region_end = region_end + (RegionWidth'(page_beats_d) << i);
    end
  end

  always_ff @(posedge clk_i) begin
    page_beats_q <= page_beats_d;
    cfg_ok_q     <= ranges_ok_q && region_end <= (RegionWidth'(1) << BeatAddrWidth);
  end

  assign cfg_ok_o = cfg_ok_q;

  // ----------------------------------------------------- command registers ---
  logic                  rq_valid_q, rq_last_q, rq_fwd_q;
  logic [PageWidth-1:0]  rq_page_q;
  logic [LayerWidth-1:0] rq_layer_q;
  logic [HeadWidth-1:0]  rq_head_q;
  logic                  rq_bad, rq_go, rd_fire;

  logic                  wq_valid_q;
  logic [PageWidth-1:0]  wq_page_q;
  logic [3:0]            wq_slot_q;
  logic [LayerWidth-1:0] wq_layer_q;
  logic [HeadWidth-1:0]  wq_head_q;
  logic                  wq_bad_q, wr_bad, wr_fire, wq_done, ref_go;

  logic                  wr_busy;                 // for the ordering rule
  logic                  wr_wait_q;               // a write command waits at the input
  logic                  wq_reads_left;           // reads of the write's kv_head still in flight
  logic [WrPendWidth-1:0] wb_pend_q;              // AW beats awaiting B
  logic                  jf_full;

  assign wr_busy = wq_valid_q | (wb_pend_q != '0);

  assign rq_bad = ~cfg_ok_q || 32'(rq_page_q) >= NumPages || 32'(rq_layer_q) >= 32'(cfg_layers_q) ||
                  32'(rq_head_q) >= 32'(cfg_heads_q);
  // Judged on the command at the input (the configuration is stable while
  // commands are in the port) and kept with it.
  assign wr_bad = ~cfg_ok_q || 32'(wr_cmd_page_i) >= NumPages || wr_cmd_slot_i[4] ||
                  32'(wr_cmd_layer_i) >= 32'(cfg_layers_q) || 32'(wr_cmd_kv_head_i) >= 32'(cfg_heads_q);

  // ------------------------------------------------------- address unit ---
  // Shared by the two command registers: a read moves on only while no write
  // is in the port (wr_busy low), so whenever the write register is valid it
  // owns the unit. Segment base in beats = kv_base/64 + page * page_beats +
  // (layer * n_kv_heads + kv_head) * seg_beats, by shift-add.
  logic [PageWidth-1:0]      a_page;
  logic [LayerWidth-1:0]     a_layer;
  logic [HeadWidth-1:0]      a_head;
  logic [SegIdxWidth-1:0]    seg_idx;
  logic [BeatAddrWidth-1:0]  page_off, seg_off, seg_base;

  assign a_page  = wq_valid_q ? wq_page_q : rq_page_q;
  assign a_layer = wq_valid_q ? wq_layer_q : rq_layer_q;
  assign a_head  = wq_valid_q ? wq_head_q : rq_head_q;

  always_comb begin
    seg_idx = SegIdxWidth'(a_head);
    for (int i = 0; i < LayerWidth; i++) begin
      if (a_layer[i]) seg_idx = seg_idx + (SegIdxWidth'(cfg_heads_q) << i);
    end
    page_off = '0;
    for (int i = 0; i < PageWidth; i++) begin
      if (a_page[i]) page_off = page_off + (BeatAddrWidth'(page_beats_q) << i);
    end
  end

  assign seg_off  = BeatAddrWidth'(seg_idx) + (BeatAddrWidth'(seg_idx) << (pl_q - 3'd1));
  assign seg_base = cfg_base_q + page_off + seg_off;

  // -------------------------------------------------------------- reads ---
  logic wp_cmd_valid, wp_cmd_ready;

  // A refused command skips memory (and the write wait) but keeps its place.
  assign rq_go          = rq_valid_q & ~jf_full & (rq_bad | (wp_cmd_ready & ~wr_busy));
  assign wp_cmd_valid   = rq_valid_q & ~rq_bad & ~jf_full & ~wr_busy;
  assign rd_cmd_ready_o = (~rq_valid_q | rq_go) & ~wr_wait_q;
  assign rd_fire        = rd_cmd_valid_i & rd_cmd_ready_o;

  // A write waiting at the input stops new reads (the read side drains, then
  // the write goes in), so a stream of reads cannot starve the writes.
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      wr_wait_q <= 1'b0;
    end else begin
      wr_wait_q <= wr_cmd_valid_i & ~wr_cmd_ready_o;
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      rq_valid_q <= 1'b0;
    end else if (rd_fire) begin
      rq_valid_q <= 1'b1;
    end else if (rq_go) begin
      rq_valid_q <= 1'b0;
    end
  end

  always_ff @(posedge clk_i) begin
    if (rd_fire) begin
      rq_page_q  <= rd_cmd_page_i;
      rq_layer_q <= rd_cmd_layer_i;
      rq_head_q  <= rd_cmd_kv_head_i;
      rq_last_q  <= rd_cmd_last_i;
      rq_fwd_q   <= rd_cmd_fwd_i;
    end
  end

  logic         wp_valid, wp_ready, wp_last;
  logic [511:0] wp_data;
  logic [CounterWidth-1:0] wp_busy, wp_out_stall, wp_mem_wait;

  tp_weight_port #(
    .AddrWidth(AddrWidth), .LenWidth(7), .MaxOutstanding(MaxBursts), .FifoBeats(FifoBeats),
    .CounterWidth(CounterWidth)
  ) u_read (
    .clk_i, .rst_ni,
    .cmd_valid_i(wp_cmd_valid), .cmd_ready_o(wp_cmd_ready), .cmd_addr_i({seg_base, 6'd0}),
    .cmd_beats_i(seg_beats),
    .m_axi_arvalid_o, .m_axi_arready_i, .m_axi_araddr_o, .m_axi_arlen_o, .m_axi_arsize_o, .m_axi_arburst_o,
    .m_axi_rvalid_i, .m_axi_rready_o, .m_axi_rdata_i, .m_axi_rlast_i,
    .out_valid_o(wp_valid), .out_ready_i(wp_ready), .out_data_o(wp_data), .out_last_o(wp_last),
    .perf_busy_o(wp_busy), .perf_out_stall_o(wp_out_stall), .perf_mem_wait_o(wp_mem_wait)
  );

  // The weight port's counters see the same stream from the inside; ours count it.
  logic unused_wp_counters;
  assign unused_wp_counters = ^{wp_busy, wp_out_stall, wp_mem_wait};

  // Per kv_head: are its reads still in flight (the read half of the
  // ordering rule)? R beats come back in issue order, so a head is done when
  // the running count of R beats taken reaches the count at the end of its
  // latest read (the counts differ by at most the beats outstanding, so the
  // equality is exact modulo 2^PendWidth).
  logic r_fire;
  assign r_fire = m_axi_rvalid_i & m_axi_rready_o;

  localparam int unsigned Heads = 1 << HeadWidth;
  logic [PendWidth-1:0] r_issued_q, r_taken_q;      // running counts of R beats
  logic [PendWidth-1:0] head_end_q [Heads];         // r_issued_q after the head's latest read
  logic [Heads-1:0]     head_reading_q;
  logic                 rd_issue;

  assign rd_issue = wp_cmd_valid & wp_cmd_ready;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      r_issued_q     <= '0;
      r_taken_q      <= '0;
      head_reading_q <= '0;
    end else begin
      if (rd_issue) r_issued_q <= r_issued_q + PendWidth'(seg_beats);
      if (r_fire) r_taken_q <= r_taken_q + 1'b1;
      for (int h = 0; h < Heads; h++) begin
        if (rd_issue && rq_head_q == HeadWidth'(h)) head_reading_q[h] <= 1'b1;
        else if (r_fire && head_end_q[h] == r_taken_q + 1'b1) head_reading_q[h] <= 1'b0;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (rd_issue) head_end_q[rq_head_q] <= r_issued_q + PendWidth'(seg_beats);
  end

  assign wq_reads_left = head_reading_q[wq_head_q];

  // Job FIFO: one entry {refused, last, fwd, kv_head} per read command, in
  // order, from the command register to its last output beat (LUT RAM,
  // asynchronous read).
  localparam int unsigned JobWidth = 3 + HeadWidth;
  logic [JobWidth-1:0]  jf_mem [MaxReadCmds];
  logic [JobPtrWidth:0] jf_wr_q, jf_rd_q;   // one wrap bit
  logic                 jf_empty, jf_pop, head_err, head_last, head_fwd;
  logic [HeadWidth-1:0] head_kv_head;
  logic [JobWidth-1:0]  jf_head;

  assign jf_empty = jf_wr_q == jf_rd_q;
  assign jf_full  = (jf_wr_q ^ jf_rd_q) == {1'b1, {JobPtrWidth{1'b0}}};
  assign jf_head  = jf_mem[jf_rd_q[JobPtrWidth-1:0]];
  assign {head_err, head_last, head_fwd, head_kv_head} = jf_head;

  always_ff @(posedge clk_i) begin
    if (rq_go) begin
      jf_mem[jf_wr_q[JobPtrWidth-1:0]] <= {rq_bad, rq_last_q, rq_fwd_q, rq_head_q};
    end
  end

  // Forwarding. Each KV head keeps its latest append (slot, rows, codes) in
  // fwd_mem; the write register reads its command from there too. A read
  // taken with fwd = 1 sets its head's wait bit, the next write command to
  // that head clears it (a write on the same edge counts as earlier); until
  // then the segment's beats stay in the port, and they leave with the
  // append's bytes in place of the memory's (its slot's scale codes and rows:
  // exactly what the append writes). So the read need not wait for the
  // append to be computed, and the append need not reach memory first.
  logic [1055:0]        fwd_mem [Heads];       // {k code, v code, k row, v row}
  logic [4:0]           fwd_tag_mem [Heads];   // {refused, slot}
  logic [Heads-1:0]     fwd_wait_q;
  logic [1055:0]        fwd_out, fwd_wr;
  logic [4:0]           fwd_tag;
  logic                 out_hold;
  logic [5:0]           out_beat_q;       // beat of the segment on out
  logic [5:0]           fwd_k_beat, fwd_v_beat;
  logic [1:0]           fwd_part;
  logic [511:0]         fwd_data;
  logic [63:0]          fwd_strb;

  always_ff @(posedge clk_i) begin
    if (wr_fire) begin
      fwd_mem[wr_cmd_kv_head_i]     <= {wr_cmd_k_scale_i, wr_cmd_v_scale_i, wr_cmd_k_row_i, wr_cmd_v_row_i};
      fwd_tag_mem[wr_cmd_kv_head_i] <= {wr_bad, wr_cmd_slot_i[3:0]};
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      fwd_wait_q <= '0;
    end else begin
      if (wr_fire) fwd_wait_q[wr_cmd_kv_head_i] <= 1'b0;
      if (rd_fire && rd_cmd_fwd_i) fwd_wait_q[rd_cmd_kv_head_i] <= 1'b1;
    end
  end

  assign fwd_out  = fwd_mem[head_kv_head];
  assign fwd_tag  = fwd_tag_mem[head_kv_head];
  assign out_hold = head_fwd & fwd_wait_q[head_kv_head];

  always_comb begin
    if (!head_fwd || fwd_tag[4]) fwd_part = 2'd3;  // nothing to patch (a refused append wrote nothing)
    else if (out_beat_q == 6'd0) fwd_part = 2'd0;
    else if (out_beat_q == fwd_k_beat) fwd_part = 2'd1;
    else if (out_beat_q == fwd_v_beat) fwd_part = 2'd2;
    else fwd_part = 2'd3;
  end

  tp_kv_slot_bytes u_fwd_bytes (
    .pl_i(pl_q), .hs_i(cfg_hs_q), .slot_i(fwd_tag[3:0]), .part_i(fwd_part),
    .k_row_i(fwd_out[1023:512]), .v_row_i(fwd_out[511:0]),
    .k_code_i(fwd_out[1055:1040]), .v_code_i(fwd_out[1039:1024]),
    .k_beat_o(fwd_k_beat), .v_beat_o(fwd_v_beat), .data_o(fwd_data), .strb_o(fwd_strb));

  // Output: the head entry's error beat, or the weight port's beats (patched).
  logic [511:0] out_data;
  for (genvar j = 0; j < 64; j++) begin : gen_patch
    assign out_data[8*j +: 8] = fwd_strb[j] ? fwd_data[8*j +: 8] : wp_data[8*j +: 8];
  end

  assign out_valid_o    = ~jf_empty & (head_err | (wp_valid & ~out_hold));
  assign out_data_o     = out_data;  // undefined on an error beat
  assign out_seg_last_o = head_err | wp_last;
  assign out_job_last_o = (head_err | wp_last) & head_last;
  assign out_err_o      = head_err;
  assign wp_ready       = out_ready_i & ~jf_empty & ~head_err & ~out_hold;
  assign jf_pop         = out_valid_o & out_ready_i & out_seg_last_o;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      jf_wr_q    <= '0;
      jf_rd_q    <= '0;
      out_beat_q <= '0;
    end else begin
      if (rq_go) jf_wr_q <= jf_wr_q + 1'b1;
      if (jf_pop) jf_rd_q <= jf_rd_q + 1'b1;
      if (out_valid_o && out_ready_i) out_beat_q <= out_seg_last_o ? 6'd0 : out_beat_q + 6'd1;
    end
  end

  // ------------------------------------------------------------- writes ---
  // The register holds one write command; it issues three single-beat
  // writes (index 0 scales, 1 K row, 2 V row; 3 = done) on AW and W, each
  // channel at its own pace.
  logic [1:0] aw_idx_q, w_idx_q;
  logic       aw_fire, w_fire, b_fire;

  assign wr_cmd_ready_o = ~wq_valid_q & ~rq_valid_q;
  assign wr_fire        = wr_cmd_valid_i & wr_cmd_ready_o;

  // The rows and scale codes stay in fwd_mem (written on the same edge).
  always_ff @(posedge clk_i) begin
    if (wr_fire) begin
      wq_page_q  <= wr_cmd_page_i;
      wq_slot_q  <= wr_cmd_slot_i[3:0];
      wq_layer_q <= wr_cmd_layer_i;
      wq_head_q  <= wr_cmd_kv_head_i;
      wq_bad_q   <= wr_bad;
    end
  end
  assign fwd_wr = fwd_mem[wq_head_q];

  // Beat 0 (the two scale codes; the strobes pick the slot's), the K row's
  // beat, the V row's beat.
  logic [5:0]   k_beat, v_beat, aw_beat;
  logic [511:0] w_data;
  logic [63:0]  w_strb;

  tp_kv_slot_bytes u_wr_bytes (
    .pl_i(pl_q), .hs_i(cfg_hs_q), .slot_i(wq_slot_q), .part_i(w_idx_q),
    .k_row_i(fwd_wr[1023:512]), .v_row_i(fwd_wr[511:0]),
    .k_code_i(fwd_wr[1055:1040]), .v_code_i(fwd_wr[1039:1024]),
    .k_beat_o(k_beat), .v_beat_o(v_beat), .data_o(w_data), .strb_o(w_strb));

  always_comb begin
    unique case (aw_idx_q)
      2'd0:    aw_beat = 6'd0;
      2'd1:    aw_beat = k_beat;
      default: aw_beat = v_beat;
    endcase
  end

  assign m_axi_awvalid_o = wq_valid_q & ~wq_bad_q & ~wq_reads_left & (aw_idx_q != 2'd3) &
                           (32'(wb_pend_q) < MaxWrBeats);
  assign m_axi_awaddr_o  = {seg_base + BeatAddrWidth'(aw_beat), 6'd0};
  assign m_axi_awlen_o   = 8'd0;
  assign m_axi_awsize_o  = 3'd6;
  assign m_axi_awburst_o = 2'b01;
  assign aw_fire         = m_axi_awvalid_o & m_axi_awready_i;

  assign m_axi_wvalid_o = wq_valid_q & ~wq_bad_q & ~wq_reads_left & (w_idx_q != 2'd3);
  assign m_axi_wdata_o  = w_data;
  assign m_axi_wstrb_o  = w_strb;
  assign m_axi_wlast_o  = 1'b1;
  assign w_fire         = m_axi_wvalid_o & m_axi_wready_i;

  // The command leaves the register when its last AW and W beats moved, or
  // (refused) when every earlier write has responded and the response
  // register is free.
  logic rsp_valid_q;
  logic [1:0] rsp_status_q;

  assign wq_done = (aw_idx_q == 2'd3 || (aw_fire && aw_idx_q == 2'd2)) &&
                   (w_idx_q == 2'd3 || (w_fire && w_idx_q == 2'd2));
  assign ref_go  = wq_valid_q & wq_bad_q & (wb_pend_q == '0) & ~rsp_valid_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      wq_valid_q <= 1'b0;
      aw_idx_q   <= 2'd0;
      w_idx_q    <= 2'd0;
    end else if (wr_fire) begin
      wq_valid_q <= 1'b1;
      aw_idx_q   <= 2'd0;
      w_idx_q    <= 2'd0;
    end else if (wq_valid_q && (wq_done || ref_go)) begin
      wq_valid_q <= 1'b0;
    end else begin
      if (aw_fire) aw_idx_q <= aw_idx_q + 2'd1;
      if (w_fire) w_idx_q <= w_idx_q + 2'd1;
    end
  end

  // B responses: three per command, in order; the third makes the response.
  logic [1:0] b_cnt_q;
  logic       b_err_q, b_bad;

  assign m_axi_bready_o = ~rsp_valid_q;
  assign b_fire         = m_axi_bvalid_i & m_axi_bready_o;
  assign b_bad          = m_axi_bresp_i != 2'b00;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      wb_pend_q   <= '0;
      b_cnt_q     <= 2'd0;
      b_err_q     <= 1'b0;
      rsp_valid_q <= 1'b0;
    end else begin
      wb_pend_q <= wb_pend_q + WrPendWidth'(aw_fire) - WrPendWidth'(b_fire);
      if (b_fire) begin
        if (b_cnt_q == 2'd2) begin
          b_cnt_q     <= 2'd0;
          b_err_q     <= 1'b0;
          rsp_valid_q <= 1'b1;
        end else begin
          b_cnt_q <= b_cnt_q + 2'd1;
          b_err_q <= b_err_q | b_bad;
        end
      end else if (ref_go) begin
        rsp_valid_q <= 1'b1;
      end else if (wr_rsp_ready_i) begin
        rsp_valid_q <= 1'b0;
      end
    end
  end

  // Status: no reset (only read while rsp_valid_q).
  always_ff @(posedge clk_i) begin
    if (b_fire && b_cnt_q == 2'd2) begin
      rsp_status_q <= (b_err_q || b_bad) ? 2'd2 : 2'd0;
    end else if (ref_go) begin
      rsp_status_q <= 2'd1;
    end
  end

  assign wr_rsp_valid_o  = rsp_valid_q;
  assign wr_rsp_status_o = rsp_status_q;

  // ------------------------------------------------------------ counters ---
  logic rd_busy_cyc, wr_busy_cyc, out_fire;
  logic [CounterWidth-1:0] rd_beats_q, wr_beats_q, rd_busy_q, wr_busy_q, mem_wait_q, out_stall_q;
  logic [CounterWidth-1:0] rd_refused_q, wr_refused_q, wr_resp_q, rd_resp_q;

  assign out_fire    = out_valid_o & out_ready_i;
  assign rd_busy_cyc = rq_valid_q | ~jf_empty;
  assign wr_busy_cyc = wr_busy;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      rd_beats_q   <= '0;
      wr_beats_q   <= '0;
      rd_busy_q    <= '0;
      wr_busy_q    <= '0;
      mem_wait_q   <= '0;
      out_stall_q  <= '0;
      rd_refused_q <= '0;
      wr_refused_q <= '0;
      wr_resp_q    <= '0;
      rd_resp_q    <= '0;
    end else begin
      if (out_fire && !head_err) rd_beats_q <= rd_beats_q + 1'b1;
      if (w_fire) wr_beats_q <= wr_beats_q + 1'b1;
      if (rd_busy_cyc) rd_busy_q <= rd_busy_q + 1'b1;
      if (wr_busy_cyc) wr_busy_q <= wr_busy_q + 1'b1;
      if (rd_busy_cyc && !out_valid_o) mem_wait_q <= mem_wait_q + 1'b1;
      if (out_valid_o && !out_ready_i) out_stall_q <= out_stall_q + 1'b1;
      if (rq_go && rq_bad) rd_refused_q <= rd_refused_q + 1'b1;
      if (ref_go) wr_refused_q <= wr_refused_q + 1'b1;
      if (b_fire && b_bad) wr_resp_q <= wr_resp_q + 1'b1;
      if (r_fire && m_axi_rresp_i != 2'b00) rd_resp_q <= rd_resp_q + 1'b1;
    end
  end

  assign perf_rd_beats_o  = rd_beats_q;
  assign perf_wr_beats_o  = wr_beats_q;
  assign perf_rd_busy_o   = rd_busy_q;
  assign perf_wr_busy_o   = wr_busy_q;
  assign perf_mem_wait_o  = mem_wait_q;
  assign perf_out_stall_o = out_stall_q;
  assign err_rd_refused_o = rd_refused_q;
  assign err_wr_refused_o = wr_refused_q;
  assign err_wr_resp_o    = wr_resp_q;
  assign err_rd_resp_o    = rd_resp_q;

  // ----------------------------------------------------------- assertions ---
`ifndef SYNTHESIS
  logic [PendWidth-1:0] rd_pend;  // R beats outstanding
  assign rd_pend = r_issued_q - r_taken_q;
  tp_stream_checker #(.Width(PageWidth + LayerWidth + HeadWidth + 2), .Name("tp_kv_port rd_cmd")) u_rd_check (
    .clk_i, .rst_ni, .valid_i(rd_cmd_valid_i), .ready_i(rd_cmd_ready_o),
    .data_i({rd_cmd_page_i, rd_cmd_layer_i, rd_cmd_kv_head_i, rd_cmd_last_i, rd_cmd_fwd_i})
  );
  // The fwd read of each kv_head from its command to its segment's last beat.
  logic [Heads-1:0]      fwd_live_q;
  logic [PageWidth-1:0]  fwd_page_q [Heads];
  logic [LayerWidth-1:0] fwd_layer_q [Heads];
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      fwd_live_q <= '0;
    end else begin
      if (jf_pop && head_fwd) fwd_live_q[head_kv_head] <= 1'b0;
      if (rd_fire && rd_cmd_fwd_i) begin
        fwd_live_q[rd_cmd_kv_head_i]  <= 1'b1;
        fwd_page_q[rd_cmd_kv_head_i]  <= rd_cmd_page_i;
        fwd_layer_q[rd_cmd_kv_head_i] <= rd_cmd_layer_i;
      end
    end
  end
  tp_stream_checker #(.Width(PageWidth + 5 + LayerWidth + HeadWidth + 1024 + 32), .Name("tp_kv_port wr_cmd"))
    u_wr_check (
    .clk_i, .rst_ni, .valid_i(wr_cmd_valid_i), .ready_i(wr_cmd_ready_o),
    .data_i({wr_cmd_page_i, wr_cmd_slot_i, wr_cmd_layer_i, wr_cmd_kv_head_i, wr_cmd_k_row_i, wr_cmd_v_row_i,
             wr_cmd_k_scale_i, wr_cmd_v_scale_i})
  );
  // Data is undefined on an error beat: only the flags are held there.
  tp_stream_checker #(.Width(515), .Name("tp_kv_port out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i),
    .data_i({out_err_o, out_seg_last_o, out_job_last_o, out_err_o ? 512'd0 : out_data_o})
  );
  tp_stream_checker #(.Width(2), .Name("tp_kv_port wr_rsp")) u_rsp_check (
    .clk_i, .rst_ni, .valid_i(wr_rsp_valid_o), .ready_i(wr_rsp_ready_i), .data_i(wr_rsp_status_o)
  );
  tp_stream_checker #(.Width(AddrWidth), .Name("tp_kv_port aw")) u_aw_check (
    .clk_i, .rst_ni, .valid_i(m_axi_awvalid_o), .ready_i(m_axi_awready_i), .data_i(m_axi_awaddr_o)
  );
  tp_stream_checker #(.Width(576), .Name("tp_kv_port w")) u_w_check (
    .clk_i, .rst_ni, .valid_i(m_axi_wvalid_o), .ready_i(m_axi_wready_i), .data_i({m_axi_wstrb_o, m_axi_wdata_o})
  );

  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      // The ordering rule: no read starts while a write is in the port; no
      // write starts while a read of its kv_head is in flight.
      assert (!(wp_cmd_valid && wr_busy)) else $error("tp_kv_port: read issued while a write is pending");
      assert (!(aw_fire && head_reading_q[wq_head_q]))
        else $error("tp_kv_port: write issued while a read of its kv_head is in flight");
      assert ((rd_pend == '0) == (head_reading_q == '0))
        else $error("tp_kv_port: per-head read tracking disagrees with the R beats outstanding");
      if (r_fire) begin
        assert (rd_pend != '0) else $error("tp_kv_port: R beat without a read in flight");
      end
      if (b_fire) begin
        assert (wb_pend_q != '0) else $error("tp_kv_port: B response without a write in flight");
      end
      if (wp_valid && wp_ready) begin
        assert (!jf_empty && !head_err) else $error("tp_kv_port: segment beat without its command");
      end
      // Forwarding rules: one fwd read per kv_head at a time, its append
      // names its segment, no second append before the patched beats left.
      if (rd_fire && rd_cmd_fwd_i) begin
        assert (!fwd_live_q[rd_cmd_kv_head_i]) else $error("tp_kv_port: a second fwd read for one kv_head");
      end
      if (wr_fire && fwd_live_q[wr_cmd_kv_head_i]) begin
        assert (fwd_wait_q[wr_cmd_kv_head_i]) else $error("tp_kv_port: an append before its fwd segment left");
        assert (wr_cmd_page_i == fwd_page_q[wr_cmd_kv_head_i] && wr_cmd_layer_i == fwd_layer_q[wr_cmd_kv_head_i])
          else $error("tp_kv_port: the append after a fwd read names another segment");
      end
    end
  end
`endif

endmodule
