// tp_matrix_unit: the matrix engine with its weight port: one command names a
// matrix section of the weight image (byte address, length in beats) and its
// shape; the port fetches the section over AXI4 while the engine computes.
//
// Commands are forked: the port takes (addr, beats), the engine (rows, cols,
// tokens, int4); cmd_ready_o rises once both sides have taken the command,
// so the port runs ahead by as many commands as its FIFO and the engine's
// queue allow: the next matrix's weights stream in while this one computes.
// The beats must equal the section length of a rows x cols matrix
// (tp::fx::matrix_section_bytes / 64); otherwise err_weight_last_o.
//
// cmd_kind_i splits a command so that weights can be fetched before the
// matrix is known to be needed (the next block's first matrices, while this
// block ends):
//   KindBoth     (0) the port fetches the section, the engine computes it;
//   KindPrefetch (1) the port only: the section's beats wait in the stream;
//   KindFetched  (2) the engine only: its weights are the next beats of the
//                    stream, requested by an earlier KindPrefetch;
//   KindDrop     (3) discard the next cmd_beats_i beats of the stream
//                    (prefetched sections no matrix will use, e.g. before a
//                    new weight image). Taken once the engine has taken every
//                    beat of its commands and no drop runs; the engine sees no
//                    beat until it is done.
// The engine is shown only beats that its taken commands own, so prefetched
// beats wait in the port, out of its sight, until their command comes.
// Timing, streams and counters: tp_weight_port and tp_matrix_engine.
//
// LoadBeats: weight beats per cycle from the port's FIFO into the engine's
// tile banks (the AXI side always takes one per cycle). At 1 (default) a
// matrix takes at least its beat count in cycles even when its weights were
// prefetched while the pipeline did vector work. At 2 the engine drains a
// prefetched FIFO at two beats per cycle and catches up after such a gap:
// a prefetched INT8 GEMV takes ~beats / 2 cycles (max(8.5, issues per tile)
// per tile; INT4 reaches 4.5 per tile only with Rows x Cols >= 256). Costs
// (Yosys, 16 x 8): the port's FIFO in two banks (30 instead of 15 RAMB18),
// ~2k LUT for putting the two beats in order and steering either into the
// tile banks, 19 flops (docs/matrix-engine.md).
module tp_matrix_unit #(
  parameter int unsigned Rows         = tp_pkg::ArrayRows,
  parameter int unsigned Cols         = tp_pkg::ArrayCols,
  parameter int unsigned MaxTokens    = tp_pkg::MaxBatchTokens,
  parameter int unsigned MaxInGroups  = tp_pkg::MaxHiddenDim / tp_pkg::QuantGroup,
  parameter int unsigned AddrWidth    = 34,
  parameter int unsigned CounterWidth = 32,
  parameter int unsigned LoadBeats    = 1,  // weight beats per cycle into the engine: 1 or 2
  parameter int unsigned FifoBeats    = 512 // the weight port's data FIFO (prefetch depth), power of two >= 64
) (
  input  logic                                clk_i,
  input  logic                                rst_ni,
  // Commands.
  input  logic                                cmd_valid_i,
  output logic                                cmd_ready_o,
  input  logic [AddrWidth-1:0]                cmd_addr_i,   // section byte address, multiple of 64
  input  logic [19:0]                         cmd_beats_i,  // section length in beats
  input  logic [15:0]                         cmd_rows_i,
  input  logic [$clog2(MaxInGroups*32+1)-1:0] cmd_cols_i,
  input  logic [$clog2(MaxTokens+1)-1:0]      cmd_tokens_i,
  input  logic                                cmd_int4_i,
  input  logic [1:0]                          cmd_kind_i,   // KindBoth, KindPrefetch, KindFetched, KindDrop
  // Activations (tp_matrix_engine act).
  input  logic                                act_valid_i,
  output logic                                act_ready_o,
  input  logic [255:0]                        act_q_i,
  input  logic [10:0]                         act_mant_i,
  input  logic [15:0]                         act_exp_i,
  input  logic                                act_last_i,
  // AXI4 read channels of the weight memory.
  output logic                                m_axi_arvalid_o,
  input  logic                                m_axi_arready_i,
  output logic [AddrWidth-1:0]                m_axi_araddr_o,
  output logic [7:0]                          m_axi_arlen_o,
  output logic [2:0]                          m_axi_arsize_o,
  output logic [1:0]                          m_axi_arburst_o,
  input  logic                                m_axi_rvalid_i,
  output logic                                m_axi_rready_o,
  input  logic [511:0]                        m_axi_rdata_i,
  input  logic                                m_axi_rlast_i,
  // Results (tp_matrix_engine out).
  output logic                                out_valid_o,
  input  logic                                out_ready_i,
  output logic [1023:0]                       out_data_o,
  output logic [5:0]                          out_rows_o,
  output logic [$clog2(MaxTokens)-1:0]        out_token_o,
  output logic                                out_last_o,
  // Status and counters.
  output logic                                err_bad_cmd_o,
  output logic                                err_weight_last_o,
  output logic                                err_act_count_o,
  output logic [CounterWidth-1:0]             perf_busy_o,
  output logic [CounterWidth-1:0]             perf_weight_wait_o,
  output logic [CounterWidth-1:0]             perf_act_wait_o,
  output logic [CounterWidth-1:0]             perf_out_stall_o,
  output logic [CounterWidth-1:0]             perf_issue_o,
  output logic [CounterWidth-1:0]             perf_port_mem_wait_o
);

  localparam logic [1:0] KindBoth = 2'd0, KindPrefetch = 2'd1, KindFetched = 2'd2, KindDrop = 2'd3;

  // ---------------------------------------------------------- command fork ---
  // A side the command's kind does not use counts as taken.
  logic port_valid, port_ready, engine_valid, engine_ready, port_taken_q, engine_taken_q;
  logic uses_port, uses_engine, drop_valid, drop_ready;
  assign uses_port    = cmd_kind_i == KindBoth || cmd_kind_i == KindPrefetch;
  assign uses_engine  = cmd_kind_i == KindBoth || cmd_kind_i == KindFetched;
  assign drop_valid   = cmd_valid_i & (cmd_kind_i == KindDrop);
  assign port_valid   = cmd_valid_i & uses_port & ~port_taken_q;
  assign engine_valid = cmd_valid_i & uses_engine & ~engine_taken_q;
  assign cmd_ready_o  = drop_valid ? drop_ready :
                        (port_ready | port_taken_q | ~uses_port) & (engine_ready | engine_taken_q | ~uses_engine);

  always_ff @(posedge clk_i) begin
    if (!rst_ni || (cmd_valid_i && cmd_ready_o)) begin
      port_taken_q   <= 1'b0;
      engine_taken_q <= 1'b0;
    end else begin
      if (port_valid && port_ready)     port_taken_q   <= 1'b1;
      if (engine_valid && engine_ready) engine_taken_q <= 1'b1;
    end
  end

  // ------------------------------------------------------------ weight port ---
  logic [LoadBeats-1:0]     w_valid, w_ready, w_last;
  logic [LoadBeats*512-1:0] w_data;
  logic [CounterWidth-1:0]  port_busy, port_out_stall;

  tp_weight_port #(
    .AddrWidth(AddrWidth), .LenWidth(20), .CounterWidth(CounterWidth), .OutBeats(LoadBeats), .FifoBeats(FifoBeats)
  ) u_port (
    .clk_i, .rst_ni,
    .cmd_valid_i(port_valid), .cmd_ready_o(port_ready), .cmd_addr_i(cmd_addr_i), .cmd_beats_i(cmd_beats_i),
    .m_axi_arvalid_o, .m_axi_arready_i, .m_axi_araddr_o, .m_axi_arlen_o, .m_axi_arsize_o, .m_axi_arburst_o,
    .m_axi_rvalid_i, .m_axi_rready_o, .m_axi_rdata_i, .m_axi_rlast_i,
    .out_valid_o(w_valid), .out_ready_i(w_ready), .out_data_o(w_data), .out_last_o(w_last),
    .perf_busy_o(port_busy), .perf_out_stall_o(port_out_stall), .perf_mem_wait_o(perf_port_mem_wait_o)
  );

  // ----------------------------------------------------- weight ownership ---
  // The engine sees only beats its taken commands own (engine_left_q: their
  // beats not yet taken), so a prefetched beat is never shown to it before
  // its command comes, and the stream never takes back a beat it showed.
  // A drop, taken only while the engine owns no beat, takes the stream's
  // next drop_left_q beats (lane 1 only with lane 0 and while two are left).
  localparam int unsigned LeftW = 24;
  logic [LeftW-1:0]     engine_left_q;
  logic [19:0]          drop_left_q;
  logic                 dropping;
  logic [LoadBeats-1:0] shown, e_w_valid, e_w_ready, drop_take;
  logic [1:0]           engine_took, dropped;

  assign dropping   = drop_left_q != '0;
  assign drop_ready = ~dropping & (engine_left_q == '0);
  assign shown[0]     = ~dropping & (engine_left_q != '0);
  assign drop_take[0] = 1'b1;
  if (LoadBeats == 2) begin : gen_lane1
    assign shown[1]     = ~dropping & (engine_left_q >= LeftW'(2));
    assign drop_take[1] = drop_left_q >= 20'd2;
    assign engine_took  = {1'b0, e_w_valid[0] & e_w_ready[0]} +
                          {1'b0, e_w_valid[0] & e_w_ready[0] & e_w_valid[1] & e_w_ready[1]};
    assign dropped      = {1'b0, w_valid[0]} + {1'b0, w_valid[0] & w_valid[1] & drop_take[1]};
  end else begin : gen_lane0
    assign engine_took = {1'b0, e_w_valid[0] & e_w_ready[0]};
    assign dropped     = {1'b0, w_valid[0]};
  end
  assign e_w_valid = w_valid & shown;
  assign w_ready   = dropping ? drop_take : e_w_ready & shown;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      engine_left_q <= '0;
      drop_left_q   <= '0;
    end else begin
      engine_left_q <= engine_left_q + ((engine_valid && engine_ready) ? LeftW'(cmd_beats_i) : '0) -
                       LeftW'(engine_took);
      if (drop_valid && drop_ready) drop_left_q <= cmd_beats_i;
      else if (dropping) drop_left_q <= drop_left_q - 20'(dropped);
    end
  end

  // ---------------------------------------------------------------- engine ---
  tp_matrix_engine #(
    .Rows(Rows), .Cols(Cols), .MaxTokens(MaxTokens), .MaxInGroups(MaxInGroups), .CounterWidth(CounterWidth),
    .LoadBeats(LoadBeats)
  ) u_engine (
    .clk_i, .rst_ni,
    .cmd_valid_i(engine_valid), .cmd_ready_o(engine_ready),
    .cmd_rows_i, .cmd_cols_i, .cmd_tokens_i, .cmd_int4_i,
    .act_valid_i, .act_ready_o, .act_q_i, .act_mant_i, .act_exp_i, .act_last_i,
    .w_valid_i(e_w_valid), .w_ready_o(e_w_ready), .w_data_i(w_data), .w_last_i(w_last),
    .out_valid_o, .out_ready_i, .out_data_o, .out_rows_o, .out_token_o, .out_last_o,
    .err_bad_cmd_o, .err_weight_last_o, .err_act_count_o,
    .perf_busy_o, .perf_weight_wait_o, .perf_act_wait_o, .perf_out_stall_o, .perf_issue_o
  );

  // The port's own busy and stall counts are the engine's view seen from the
  // other side; only its memory-wait count is new information.
  logic unused_port_counters;
  assign unused_port_counters = ^{port_busy, port_out_stall};

endmodule
