// tp_embedding: the embedding lookup at the head of the token pipeline. For a
// token id it reads exactly the bytes of that row of the weight image's
// embedding section (docs/weight-image.md) through its own tp_weight_port
// (AXI4 read master) and streams the row dequantized to Q16.16, bit-exact with
// tp::fx::embed (golden/int/int_model.cpp) of a plain (one-plane) embedding:
//   x_i = saturate_i32(round_shift(q_i * m (negated for a negative scale), e + 16))
// with (m, e, sign) = scale_from_fp16(the block's fp16 scale); subnormal
// scales enter unnormalized (m = fraction, e = -24), which gives the same
// value and the same rounding (round half up, as fx::round_shift).
//
// Where the row lies: row r = token is slot j = r % 32 of row group
// G = r / 32, and its block b lies in the tile (G, b), at
//   tile  = base + G * blocks_per_row * tile_bytes(32) + b * tile_bytes(n)
//   value = tile + (j / blocks_per_beat) beats,  scale = tile + ceil(n / blocks_per_beat) beats
// with n = min(32, vocab - 32 G) the rows of the group, blocks_per_beat 2
// (INT8) or 4 (INT4), tile_bytes(n) = (ceil(n / blocks_per_beat) + 1) x 64.
// So a row costs 2 x ceil(dim / 32) one-beat reads (tp::fx::embedding_row_bytes):
// the command stream issues them value beat, scale beat, block by block, one
// per cycle, all in flight at once (MaxOutstanding = 2 MaxDim / 32 bursts).
//
// Streams (valid/ready; data stable while valid && !ready):
//   req  req_token_i, the token id (32 bits: any id is checked). The
//        configuration is sampled with it: cfg_base_i (byte address of the
//        embedding section, a multiple of 64), cfg_dim_i (1 .. MaxDim),
//        cfg_vocab_i (1 .. MaxVocab), cfg_int4_i (0: INT8 image, 1: INT4).
//        req_ready_o (from flops) is high while no request's reads are being
//        issued and fewer than 16 requests are unanswered: rows stay in
//        flight while the next are requested, and answer in request order.
//   out  ceil(dim / Lanes) beats of Lanes int32 Q16.16 values, lane i of beat
//        k = x[k * Lanes + i] at [i*32 +: 32], lanes beyond dim zero (the
//        image's padding), out_last_o on the last beat, out_error_o low.
//        A refused request (token >= vocab, or a configuration out of range:
//        dim or vocab 0 or above the maxima, base not 64-byte aligned) reads
//        nothing and answers with ONE beat: out_error_o = 1, out_last_o = 1,
//        data zero; err_refused_o is then set until reset.
//        Registered outputs.
//   AXI  the AR and R channels of tp_weight_port (single-beat INCR bursts).
//
// Timing (bench.h convention; memory latency L = cycles from AR acceptance
// to the first R beat, the memory delivering a beat per cycle): a request
// accepted at edge k has its 2 x ceil(dim / 32) one-beat reads issued one a
// cycle from edge k + 2 (1 setup cycle), and the next request is taken at
// edge k + 2 + 2 x ceil(dim / 32) (a refused request reads nothing: the next
// is taken at edge k + 1). The first out beat of the request leaves at edge
// k + L + 10 (1 setup cycle, 2 + 2 in the port, 1 to pair a block's value
// beat with its scale beat, 2 pipeline stages), then one beat per cycle (at
// Lanes 16 a block's 2 read beats make its 2 out beats; at Lanes 8 the
// output is the bound, 4 out beats per block). So back-to-back requests of
// dim 64 cost 6 cycles each instead of a memory latency each (the token
// pipeline's prefill EMBED). Exact while the port's limits (MaxReads reads in
// flight, its FIFO's beats) and the output do not hold the reads back;
// otherwise later. A refused request answers with its error beat at edge
// k + 2, or right after the rows requested before it.
// The testbench asserts these: exactly for dim 64 at L = 1, 100, 200 and dim
// 512 at L = 1, as lower bounds for dim 512 at L = 100, 200.
//
// Reset (synchronous, active low) clears the control state, drops the
// request, every read in flight (the memory must be reset with the port,
// see tp_weight_port) and the error flag.
//
// Resources (Lanes 16, Yosys xcup): 17 DSP48E2 (16 lanes' q x m, 8 x 11
// bits, and the row group offset), 15 RAMB18E2 (tp_weight_port's FIFO at its
// minimum depth of 64 beats), 1653 FF, ~5000 LUT (value extraction muxes,
// 16 shift/round/saturate lanes); rtl/matrix/tp_embedding.synth.json.
module tp_embedding #(
  parameter int unsigned Lanes     = 16,               // values per out beat: 8, 16 or 32
  parameter int unsigned MaxDim    = tp_pkg::MaxDim,   // largest cfg_dim_i, a multiple of 32
  parameter int unsigned MaxVocab  = tp_pkg::MaxVocab, // largest cfg_vocab_i
  parameter int unsigned AddrWidth = 34                // byte address bits of the weight memory
) (
  input  logic                            clk_i,
  input  logic                            rst_ni,        // synchronous reset, active low
  // Configuration (sampled with each request).
  input  logic [AddrWidth-1:0]            cfg_base_i,    // embedding section byte address, multiple of 64
  input  logic [$clog2(MaxDim):0]         cfg_dim_i,     // model dim, 1 .. MaxDim
  input  logic [$clog2(MaxVocab+1)-1:0]   cfg_vocab_i,   // vocabulary size, 1 .. MaxVocab
  input  logic                            cfg_int4_i,    // 1: INT4 image, 0: INT8
  // Requests.
  input  logic                            req_valid_i,
  output logic                            req_ready_o,   // registered: high while idle
  input  logic [31:0]                     req_token_i,
  // AXI4 read channels of the weight memory (tp_weight_port).
  output logic                            m_axi_arvalid_o,
  input  logic                            m_axi_arready_i,
  output logic [AddrWidth-1:0]            m_axi_araddr_o,
  output logic [7:0]                      m_axi_arlen_o,
  output logic [2:0]                      m_axi_arsize_o,
  output logic [1:0]                      m_axi_arburst_o,
  input  logic                            m_axi_rvalid_i,
  output logic                            m_axi_rready_o,
  input  logic [511:0]                    m_axi_rdata_i,
  input  logic                            m_axi_rlast_i,
  // The row, L + 10 cycles after the request.
  output logic                            out_valid_o,   // registered; low after reset
  input  logic                            out_ready_i,
  output logic [Lanes*32-1:0]             out_data_o,    // lane i: int32 Q16.16 at [i*32 +: 32]
  output logic                            out_last_o,    // last beat of the row (or the error beat)
  output logic                            out_error_o,   // the one beat answering a refused request
  // Sticky status.
  output logic                            err_refused_o  // a request was refused since reset
);

  localparam int unsigned DimW   = $clog2(MaxDim) + 1;
  localparam int unsigned VocW   = $clog2(MaxVocab + 1);
  localparam int unsigned GroupW = $clog2((MaxVocab + 31) / 32);     // row group G
  localparam int unsigned BprW   = $clog2(MaxDim / 32) + 1;          // blocks per row, 1 .. MaxDim/32
  localparam int unsigned StrW   = $clog2(MaxDim / 32 * 17 + 1);     // beats of a full row group
  localparam int unsigned BeatAW = AddrWidth - 6;                    // beat address
  localparam int unsigned Subs   = 32 / Lanes;                       // out beats per block
  localparam int unsigned SubW   = (Subs > 1) ? $clog2(Subs) : 1;
  localparam int unsigned OutW   = $clog2(MaxDim / Lanes) + 1;       // out beats of a row
  localparam int unsigned MaxReads = 2 * MaxDim / 32;               // bursts of a row
  // The port's FIFO holds a whole row's beats (credits never hold a read back).
  localparam int unsigned FifoBeats = (MaxReads <= 64) ? 64 : (1 << $clog2(MaxReads));

  // ------------------------------------------------------ parameter check ---
  if (Lanes != 8 && Lanes != 16 && Lanes != 32) begin : gen_lanes_check
    $error("tp_embedding: Lanes must be 8, 16 or 32");
  end
  if (MaxDim < 32 || MaxDim % 32 != 0 || MaxDim > 4096) begin : gen_dim_check
    $error("tp_embedding: MaxDim must be a multiple of 32 in [32, 4096]");
  end
  if (MaxVocab < 32 || MaxVocab > 65535) begin : gen_vocab_check
    $error("tp_embedding: MaxVocab must be in [32, 65535]");
  end
  if (AddrWidth < 13 || AddrWidth > 48) begin : gen_addr_check
    $error("tp_embedding: AddrWidth must be in [13, 48]");
  end

  // ============================================================ requests ===
  // A request's reads are issued, then the next request is taken while its
  // row is still in flight: each accepted request leaves a context for the
  // input side (which slot of the value beats, INT4, blocks: the beats as
  // they arrive) and one for the output side (out beats, or the error beat
  // of a refused request), so rows stream out back to back in request order.
  typedef enum logic [1:0] {
    StIdle,    // waiting for a request
    StSetup,   // the row group's address (one multiply)
    StIssue    // one read command per cycle
  } state_e;

  state_e state_q;
  logic   req_fire, refuse;
  logic   in_ctx_room, out_ctx_room;  // the context FIFOs can take a request's

  assign req_ready_o = (state_q == StIdle) & in_ctx_room & out_ctx_room;
  assign req_fire    = req_valid_i & req_ready_o;
  assign refuse      = (cfg_dim_i == '0) || (cfg_dim_i > DimW'(MaxDim))
                    || (cfg_vocab_i == '0) || (cfg_vocab_i > VocW'(MaxVocab))
                    || (cfg_base_i[5:0] != 6'd0)
                    || (req_token_i >= {{(32-VocW){1'b0}}, cfg_vocab_i});

  // Request context of the issue side, latched at acceptance (no reset:
  // meaningful while its reads are issued).
  logic [GroupW-1:0] group_q;     // G
  logic [4:1]        slot_q;      // j / 2: which value beat of the tile (the output side extracts the slot)
  logic              int4_q;
  logic [BprW-1:0]   bpr_q;       // blocks per row
  logic [5:0]        rows_q;      // n, rows of the group, 1 .. 32
  logic [BeatAW-1:0] base_q;      // section beat address
  // Issue state.
  logic [BeatAW-1:0] tile_q;      // beat address of the current block's tile
  logic [StrW-1:0]   stride;      // beats of a full row group: bpr x 17 or bpr x 9
  logic [4:0]        tile_beats;  // beats of a tile of the group: ceil(n / bpb) + 1
  logic [4:0]        value_ofs;   // j / bpb
  logic [4:0]        scale_ofs;   // ceil(n / bpb)
  logic [4:0]        beat_ofs;    // the commanded beat within the tile
  logic              phase_q;     // 0: the value beat's command, 1: the scale beat's
  logic [BprW-1:0]   issued_q;    // blocks whose two commands are issued
  logic              cmd_valid, cmd_ready, cmd_fire;
  logic [AddrWidth-1:0] cmd_addr;
  logic              row_done;    // the row's last out beat enters the output pipeline
  logic              err_beat;    // the error beat enters the output register
  logic [BprW-1:0]   req_bpr;     // blocks per row of the request
  logic [OutW-1:0]   req_out_total;  // out beats of the request's row

  logic [VocW-1:0]   rows_left;   // vocab - 32 G
  logic [GroupW+StrW-1:0] group_ofs;  // G x stride: beats before the row group

  assign rows_left = cfg_vocab_i - {req_token_i[VocW-1:5], 5'd0};

  assign req_bpr       = BprW'((cfg_dim_i + DimW'(31)) >> 5);
  assign req_out_total = OutW'((cfg_dim_i + DimW'(Lanes - 1)) >> $clog2(Lanes));

  always_ff @(posedge clk_i) begin
    if (req_fire) begin
      group_q <= req_token_i[GroupW+4:5];
      slot_q  <= req_token_i[4:1];
      int4_q  <= cfg_int4_i;
      bpr_q   <= req_bpr;
      rows_q  <= (rows_left >= VocW'(32)) ? 6'd32 : rows_left[5:0];
      base_q  <= cfg_base_i[AddrWidth-1:6];
    end
  end

  assign stride     = int4_q ? StrW'({bpr_q, 3'b0}) + StrW'(bpr_q) : StrW'({bpr_q, 4'b0}) + StrW'(bpr_q);
  assign scale_ofs  = int4_q ? 5'((rows_q + 6'd3) >> 2) : 5'((rows_q + 6'd1) >> 1);
  assign tile_beats = scale_ofs + 5'd1;
  assign value_ofs  = int4_q ? {2'b0, slot_q[4:2]} : {1'b0, slot_q[4:1]};
  assign group_ofs  = group_q * stride;

  always_ff @(posedge clk_i) begin
    if (state_q == StSetup) begin
      tile_q <= base_q + BeatAW'(group_ofs);
    end else if (cmd_fire && phase_q) begin
      tile_q <= tile_q + BeatAW'(tile_beats);
    end
  end

  assign cmd_valid = (state_q == StIssue);
  assign cmd_fire  = cmd_valid & cmd_ready;
  assign beat_ofs  = phase_q ? scale_ofs : value_ofs;
  assign cmd_addr  = {tile_q + BeatAW'(beat_ofs), 6'd0};

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      state_q  <= StIdle;
      phase_q  <= 1'b0;
      issued_q <= '0;
    end else begin
      unique case (state_q)
        StIdle: begin
          if (req_fire && !refuse) begin  // a refused request reads nothing
            state_q <= StSetup;
          end
          phase_q  <= 1'b0;
          issued_q <= '0;
        end
        StSetup: state_q <= StIssue;
        StIssue: begin
          if (cmd_fire) begin
            phase_q <= ~phase_q;
            if (phase_q) begin
              issued_q <= issued_q + 1'b1;
              if (issued_q + 1'b1 == bpr_q) begin
                state_q <= StIdle;
              end
            end
          end
        end
        default: state_q <= StIdle;
      endcase
    end
  end

  // ========================================================= weight port ===
  logic         w_valid, w_ready, w_last;
  logic [511:0] w_data;
  logic [31:0]  port_busy, port_out_stall, port_mem_wait;

  tp_weight_port #(
    .AddrWidth(AddrWidth), .LenWidth(7), .MaxOutstanding(MaxReads), .FifoBeats(FifoBeats), .CounterWidth(32)
  ) u_port (
    .clk_i, .rst_ni,
    .cmd_valid_i(cmd_valid), .cmd_ready_o(cmd_ready), .cmd_addr_i(cmd_addr), .cmd_beats_i(7'd1),
    .m_axi_arvalid_o, .m_axi_arready_i, .m_axi_araddr_o, .m_axi_arlen_o, .m_axi_arsize_o, .m_axi_arburst_o,
    .m_axi_rvalid_i, .m_axi_rready_o, .m_axi_rdata_i, .m_axi_rlast_i,
    .out_valid_o(w_valid), .out_ready_i(w_ready), .out_data_o(w_data), .out_last_o(w_last),
    .perf_busy_o(port_busy), .perf_out_stall_o(port_out_stall), .perf_mem_wait_o(port_mem_wait)
  );

  // Every command is one beat, so every beat is a command's last; the
  // counters are not exported (the lookup is a small part of a token).
  logic unused_port;
  assign unused_port = ^{w_last, port_busy, port_out_stall, port_mem_wait};

  // ============================================================ contexts ===
  // Input side: per row read, {slot, INT4, blocks}; popped with the row's
  // last scale beat. Output side: per request, {refused, out beats}; popped
  // as the row's last beat (or the error beat) enters the output pipeline.
  // Depth: rows in flight, enough to cover the memory latency with the
  // port's outstanding reads (MaxReads one-beat bursts).
  localparam int unsigned CtxDepth = 16;
  localparam int unsigned InCtxW   = 5 + 1 + BprW;
  localparam int unsigned OutCtxW  = 1 + OutW;
  logic               in_ctx_valid, in_ctx_pop;
  logic [InCtxW-1:0]  in_ctx;
  logic               out_ctx_valid, out_ctx_pop;
  logic [OutCtxW-1:0] out_ctx;
  logic [4:0]         row_slot;       // the arriving beats' row: slot j
  logic               row_int4;
  logic [BprW-1:0]    row_bpr;
  logic               head_refused;   // the output side's next answer is an error beat
  logic [OutW-1:0]    head_out_total; // ... or a row of this many out beats
  /* verilator lint_off UNUSEDSIGNAL */
  logic [$clog2(CtxDepth):0] in_ctx_count, out_ctx_count;  // fullness comes from in_ready_o
  /* verilator lint_on UNUSEDSIGNAL */

  tp_fifo #(.Width(InCtxW), .Depth(CtxDepth)) u_in_ctx (
    .clk_i, .rst_ni,
    .in_valid_i(req_fire && !refuse), .in_ready_o(in_ctx_room),
    .in_data_i({req_token_i[4:0], cfg_int4_i, req_bpr}),
    .out_valid_o(in_ctx_valid), .out_ready_i(in_ctx_pop), .out_data_o(in_ctx),
    .count_o(in_ctx_count));
  tp_fifo #(.Width(OutCtxW), .Depth(CtxDepth)) u_out_ctx (
    .clk_i, .rst_ni,
    .in_valid_i(req_fire), .in_ready_o(out_ctx_room),
    .in_data_i({refuse, req_out_total}),
    .out_valid_o(out_ctx_valid), .out_ready_i(out_ctx_pop), .out_data_o(out_ctx),
    .count_o(out_ctx_count));

  assign {row_slot, row_int4, row_bpr}    = in_ctx;
  assign {head_refused, head_out_total}   = out_ctx;

  // ====================================================== block assembly ===
  // Beats alternate: the value beat of block b, then its scale beat. The
  // block's 32 values wait in vals_q for the scale; value and scale then move
  // together into the block register that feeds the output pipeline.
  logic         in_phase_q;   // 0: expecting a value beat, 1: a scale beat
  logic [255:0] vals_q;       // 32 int8 values of the block (INT4 sign-extended)
  logic [255:0] vals_d;
  logic [15:0]  scale_d;
  logic         blk_valid_q;  // the block register holds a block not yet fully issued
  logic [255:0] blk_vals_q;
  logic [15:0]  blk_scale_q;
  logic [SubW-1:0] blk_sub_q; // next out beat of the block
  logic         blk_free;     // the block register can take a block at this edge
  logic         w_fire;
  logic         adv;          // the output pipeline moves at this edge
  logic         p_load;       // a beat enters the output pipeline
  logic         blk_done;     // this beat is the block's last
  logic [OutW-1:0] out_cnt_q; // out beats of the row issued into the pipeline
  logic [BprW-1:0] in_blk_q;  // blocks of the arriving row taken
  logic         row_beat_last; // this out beat is its row's last

  // Value extraction: INT8 slot j % 2 is bytes 32 (j%2) .. +31; INT4 slot j % 4
  // is bytes 16 (j%4) .. +15, nibble k (low nibble first) = column k.
  for (genvar k = 0; k < 32; k++) begin : gen_extract
    logic [7:0] b8;
    logic [3:0] n4;
    assign b8 = w_data[row_slot[0]*256 + k*8 +: 8];
    assign n4 = w_data[row_slot[1:0]*128 + k*4 +: 4];
    assign vals_d[k*8 +: 8] = row_int4 ? {{4{n4[3]}}, n4} : b8;
  end
  assign scale_d = w_data[row_slot*16 +: 16];

  assign w_ready    = in_ctx_valid & (in_phase_q ? blk_free : 1'b1);  // a beat always has its context
  assign w_fire     = w_valid & w_ready;
  assign in_ctx_pop = w_fire & in_phase_q & (in_blk_q + 1'b1 == row_bpr);

  // A row is 2 x blocks beats, so the phase is back at 0 between rows.
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      in_phase_q <= 1'b0;
      in_blk_q   <= '0;
    end else if (w_fire) begin
      in_phase_q <= ~in_phase_q;
      if (in_phase_q) in_blk_q <= in_ctx_pop ? '0 : in_blk_q + 1'b1;
    end
  end

  always_ff @(posedge clk_i) begin
    if (w_fire && !in_phase_q) begin
      vals_q <= vals_d;
    end
    if (w_fire && in_phase_q) begin
      blk_vals_q  <= vals_q;
      blk_scale_q <= scale_d;
    end
  end

  assign row_beat_last = out_cnt_q + 1'b1 == head_out_total;
  assign blk_done      = (blk_sub_q == SubW'(Subs - 1)) || row_beat_last;
  assign blk_free = ~blk_valid_q | (p_load & blk_done);

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      blk_valid_q <= 1'b0;
      blk_sub_q   <= '0;
    end else begin
      if (w_fire && in_phase_q) begin
        blk_valid_q <= 1'b1;
        blk_sub_q   <= '0;
      end else if (p_load) begin
        blk_valid_q <= ~blk_done;
        blk_sub_q   <= blk_sub_q + 1'b1;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      out_cnt_q <= '0;
    end else if (p_load) begin
      out_cnt_q <= row_beat_last ? '0 : out_cnt_q + 1'b1;
    end
  end

  // ======================================================= output pipeline ===
  // Stage 1 (p_*): the signed products q * m, negated for a negative scale,
  // and the scale's shift. Stage 2 (out_*): round_shift and saturation.
  // Both advance together while the output register is free or leaving.
  logic        p_valid_q, p_last_q;
  logic [4:0]  p_shift_q;      // e + 16 + 8 = max(biased, 1) - 1: 0 .. 30
  logic        out_valid_q, out_last_q, out_error_q;

  // A refused request's error beat waits for the rows before it to leave the
  // product stage; the rows after it wait for the error beat.
  assign adv         = ~out_valid_q | out_ready_i;
  assign p_load      = adv & blk_valid_q & out_ctx_valid & ~head_refused;
  assign row_done    = p_load & row_beat_last;
  assign err_beat    = adv & out_ctx_valid & head_refused & ~p_valid_q;
  assign out_ctx_pop = row_done | err_beat;

  logic [4:0] biased;
  assign biased = blk_scale_q[14:10];

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      p_valid_q   <= 1'b0;
      out_valid_q <= 1'b0;
    end else if (adv) begin
      p_valid_q   <= p_load;
      out_valid_q <= p_valid_q | err_beat;
    end
  end

  always_ff @(posedge clk_i) begin
    if (p_load) begin
      p_last_q  <= row_beat_last;
      // A subnormal (biased 0) has the exponent of biased 1 and no hidden bit.
      p_shift_q <= (biased == 5'd0) ? 5'd0 : biased - 5'd1;
    end
    if (adv) begin
      out_last_q  <= p_valid_q ? p_last_q : 1'b1;
      out_error_q <= ~p_valid_q;
    end
  end

  for (genvar i = 0; i < Lanes; i++) begin : gen_lane
    logic signed [7:0]  q;
    logic signed [11:0] m;        // 0 .. 2047, as a signed operand
    logic signed [19:0] prod;     // |q * m| <= 128 x 2047 < 2^18
    logic signed [19:0] prod_q;   // negated for a negative scale
    logic signed [49:0] wide;     // prod * 2^(e + 24), exact
    logic signed [41:0] shifted;  // round_shift(prod, e + 16) = (wide + 2^7) >> 8
    logic        [31:0] sat;
    logic        [31:0] data_q;

    assign q    = blk_vals_q[(blk_sub_q*Lanes + i)*8 +: 8];
    assign m    = {1'b0, (biased != 5'd0), blk_scale_q[9:0]};
    assign prod = q * m;

    always_ff @(posedge clk_i) begin
      if (p_load) begin
        prod_q <= blk_scale_q[15] ? -prod : prod;
      end
    end

    // (wide + 128) >> 8 = (wide >> 8) + wide[7]: the rounding bit of the shift.
    assign wide    = 50'(prod_q) <<< p_shift_q;
    assign shifted = wide[49:8] + 42'(wide[7]);
    // The bits below the rounding bit cannot change a round-half-up shift.
    logic unused_low;
    assign unused_low = ^wide[6:0];
    assign sat     = (shifted > 42'sd2147483647)  ? 32'h7fff_ffff
                   : (shifted < -42'sd2147483648) ? 32'h8000_0000 : shifted[31:0];

    always_ff @(posedge clk_i) begin
      if (adv) begin
        data_q <= p_valid_q ? sat : 32'd0;
      end
    end

    assign out_data_o[i*32 +: 32] = data_q;
  end

  assign out_valid_o = out_valid_q;
  assign out_last_o  = out_last_q;
  assign out_error_o = out_error_q;

  logic err_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      err_q <= 1'b0;
    end else if (req_fire && refuse) begin
      err_q <= 1'b1;
    end
  end
  assign err_refused_o = err_q;

  // ----------------------------------------------------------- assertions ---
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(32), .Name("tp_embedding req")) u_req_check (
    .clk_i, .rst_ni, .valid_i(req_valid_i), .ready_i(req_ready_o), .data_i(req_token_i)
  );
  tp_stream_checker #(.Width(Lanes*32 + 2), .Name("tp_embedding out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i), .data_i({out_data_o, out_last_o, out_error_o})
  );

  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      if (w_valid) begin
        assert (w_last) else $error("tp_embedding: a weight beat without last (every read is one beat)");
        assert (in_ctx_valid) else $error("tp_embedding: a weight beat while no row is read");
      end
      if (blk_valid_q) begin
        assert (out_ctx_valid) else $error("tp_embedding: a block without its request's context");
      end
    end
  end
`endif

endmodule
