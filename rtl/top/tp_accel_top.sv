// tp_accel_top: the tokenpipe accelerator (docs/accelerator.md): the host
// interface, the sequencer, the token pipeline with every engine, the
// paged-KV page manager, and three AXI4 masters.
//
// Host flow (AXI4-Lite, register map in tp_host_csr.sv):
//   1. write the configuration (DIM .. SCORE_SCALE), the section table (in
//      beats from WEIGHT_BASE) and the RoPE steps;
//   2. CMD LOAD: the gain vectors of the image are read into on-chip memory
//      (they are read once per configuration, not per token) and weights
//      prefetched for a next block are dropped; after any write of the
//      configuration or section table, commands answer BAD_CONFIG until
//      the next LOAD (a new image may sit at the same address);
//   3. CMD OPEN(seq); CMD PROMPT(seq, n) with the n token ids written to
//      TOKEN_IN (in order, before or after the command); every PROMPT and
//      STEP produces one token on TOKEN_OUT: the argmax of the logits of its
//      last position, with pos = the position it will take;
//   4. CMD STEP(seq) feeds the sequence's last produced token at its next
//      position (one decode token); CMD CLOSE(seq) frees its KV pages.
// Command word (CMD): [31:28] opcode (1 LOAD, 2 OPEN, 3 PROMPT, 4 STEP,
// 5 CLOSE), [27:24] sequence id, [15:0] PROMPT's token count.
// Counter k of the CSR (0x080 + 4k):
//   0 command status: [31:16] commands completed, [3:0] status of the last
//     one (tp_sequencer: 0 OK, 1 BAD_CONFIG, 2 BAD_STATE, 3 BAD_SEQ,
//     4 SEQ_FULL, 5 NO_PAGE, 6 BAD_TOKEN, 7 BAD_CMD, 8 HW_ERROR)
//   1 cycles since reset           2 prefill cycles      3 prefill tokens
//   4 decode cycles                5 decode tokens
//   6 weight-port beats (matrices) 7 aux-port beats (embedding rows, gains)
//   8 KV read beats                9 KV write beats      10 KV-port read-busy cycles
//   11 matrix engine busy cycles   12 matrix issue cycles (PE array busy)
//   13 attention engine busy       14 vector-unit busy cycles
//   15 sticky hardware errors (tp_token_pipeline err_o)
//
// Memory ports (AXI4, 512-bit data, single ID, INCR bursts):
//   m_axi_w_*   weight image reads of the matrix unit (AR/R)
//   m_axi_e_*   weight image reads of the embedding rows and of LOAD (AR/R)
//   m_axi_kv_*  the KV region (AR/R/AW/W/B)
// Both weight ports read the same image (two pseudo-channels of one HBM).
//
// Debug taps (observation only, no backpressure; unconnected in hardware):
// every residual-stream word the pipeline writes and every logit beat, so a
// testbench compares each stage with the golden model as it happens.
//   tap_stage_o 0 embedding, 1 attention residual, 2 FFN residual, 3 logits;
//   tap_layer_o, tap_token_o (index in the block), tap_pos_o (position),
//   tap_index_o (element index of lane 0), tap_count_o (valid lanes, <= 32),
//   tap_data_o lane i at [32i +: 32] (int32 Q16.16).
module tp_accel_top #(
  parameter int unsigned AddrWidth = 34,                      // byte address bits of every memory port
  parameter int unsigned MaxBlock  = tp_pkg::MaxBatchTokens,  // prompt tokens per prefill block
  parameter int unsigned NumPages  = 64,                      // KV pages
  parameter int unsigned MaxSeqs   = 8                        // sequences with their own page table
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,  // synchronous reset, active low
  // AXI4-Lite slave (tp_host_csr).
  input  logic                 s_axil_awvalid_i,
  output logic                 s_axil_awready_o,
  input  logic [11:0]          s_axil_awaddr_i,
  input  logic                 s_axil_wvalid_i,
  output logic                 s_axil_wready_o,
  input  logic [31:0]          s_axil_wdata_i,
  input  logic [3:0]           s_axil_wstrb_i,
  output logic                 s_axil_bvalid_o,
  input  logic                 s_axil_bready_i,
  output logic [1:0]           s_axil_bresp_o,
  input  logic                 s_axil_arvalid_i,
  output logic                 s_axil_arready_o,
  input  logic [11:0]          s_axil_araddr_i,
  output logic                 s_axil_rvalid_o,
  input  logic                 s_axil_rready_i,
  output logic [31:0]          s_axil_rdata_o,
  output logic [1:0]           s_axil_rresp_o,
  // Weight reads of the matrix unit.
  output logic                 m_axi_w_arvalid_o,
  input  logic                 m_axi_w_arready_i,
  output logic [AddrWidth-1:0] m_axi_w_araddr_o,
  output logic [7:0]           m_axi_w_arlen_o,
  output logic [2:0]           m_axi_w_arsize_o,
  output logic [1:0]           m_axi_w_arburst_o,
  input  logic                 m_axi_w_rvalid_i,
  output logic                 m_axi_w_rready_o,
  input  logic [511:0]         m_axi_w_rdata_i,
  input  logic                 m_axi_w_rlast_i,
  // Weight reads of the embedding and of LOAD.
  output logic                 m_axi_e_arvalid_o,
  input  logic                 m_axi_e_arready_i,
  output logic [AddrWidth-1:0] m_axi_e_araddr_o,
  output logic [7:0]           m_axi_e_arlen_o,
  output logic [2:0]           m_axi_e_arsize_o,
  output logic [1:0]           m_axi_e_arburst_o,
  input  logic                 m_axi_e_rvalid_i,
  output logic                 m_axi_e_rready_o,
  input  logic [511:0]         m_axi_e_rdata_i,
  input  logic                 m_axi_e_rlast_i,
  // The KV region.
  output logic                 m_axi_kv_arvalid_o,
  input  logic                 m_axi_kv_arready_i,
  output logic [AddrWidth-1:0] m_axi_kv_araddr_o,
  output logic [7:0]           m_axi_kv_arlen_o,
  output logic [2:0]           m_axi_kv_arsize_o,
  output logic [1:0]           m_axi_kv_arburst_o,
  input  logic                 m_axi_kv_rvalid_i,
  output logic                 m_axi_kv_rready_o,
  input  logic [511:0]         m_axi_kv_rdata_i,
  input  logic [1:0]           m_axi_kv_rresp_i,
  input  logic                 m_axi_kv_rlast_i,
  output logic                 m_axi_kv_awvalid_o,
  input  logic                 m_axi_kv_awready_i,
  output logic [AddrWidth-1:0] m_axi_kv_awaddr_o,
  output logic [7:0]           m_axi_kv_awlen_o,
  output logic [2:0]           m_axi_kv_awsize_o,
  output logic [1:0]           m_axi_kv_awburst_o,
  output logic                 m_axi_kv_wvalid_o,
  input  logic                 m_axi_kv_wready_i,
  output logic [511:0]         m_axi_kv_wdata_o,
  output logic [63:0]          m_axi_kv_wstrb_o,
  output logic                 m_axi_kv_wlast_o,
  input  logic                 m_axi_kv_bvalid_i,
  output logic                 m_axi_kv_bready_o,
  input  logic [1:0]           m_axi_kv_bresp_i,
  // Debug taps.
  output logic                 tap_valid_o,
  output logic [1:0]           tap_stage_o,
  output logic [7:0]           tap_layer_o,
  output logic [5:0]           tap_token_o,
  output logic [15:0]          tap_pos_o,
  output logic [15:0]          tap_index_o,
  output logic [5:0]           tap_count_o,
  output logic [1023:0]        tap_data_o,
  // Status.
  output logic                 busy_o   // a command is running
);

  localparam int unsigned TokW        = $clog2(MaxBlock);
  localparam int unsigned SeqW        = $clog2(MaxSeqs);
  localparam int unsigned LPageW      = $clog2(tp_pkg::MaxSeqLen / tp_pkg::PageSize);
  localparam int unsigned NumSections = 2 + 6 * tp_pkg::MaxLayers + 1;
  localparam int unsigned NumCounters = 16;

  // ================================================= host interface ===
  logic [15:0] cfg_dim, cfg_hidden_dim, cfg_n_layers, cfg_n_heads, cfg_n_kv_heads, cfg_head_size;
  logic [15:0] cfg_vocab, cfg_seq_len;
  logic        cfg_int4, csr_cfg_ok, pipe_cfg_ok, cfg_write;
  logic [31:0] cfg_weight_base, cfg_kv_base;
  logic [$clog2(NumSections)-1:0] sec_index;
  logic [31:0] sec_offset;
  logic        rope_we;
  // Register formats with padding bits; section lengths below 2^20 beats (the
  // matrix unit's command field; a 32000 x 512 classifier is 272k beats);
  // RoPE steps below MaxHeadDim / 2.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [31:0] cfg_inv_dim, cfg_score_scale, sec_beats;
  logic [8:0]  rope_addr;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [31:0] rope_data;
  logic        cmd_valid, cmd_ready, tok_in_valid, tok_in_ready, tok_out_valid, tok_out_ready;
  logic [31:0] cmd_data;
  logic [14:0] tok_in_data;
  logic [30:0] tok_out_data;
  logic [NumCounters*32-1:0] perf;

  tp_host_csr #(.NumCounters(NumCounters)) u_csr (
    .clk_i, .rst_ni,
    .s_axil_awvalid_i, .s_axil_awready_o, .s_axil_awaddr_i, .s_axil_wvalid_i, .s_axil_wready_o,
    .s_axil_wdata_i, .s_axil_wstrb_i, .s_axil_bvalid_o, .s_axil_bready_i, .s_axil_bresp_o,
    .s_axil_arvalid_i, .s_axil_arready_o, .s_axil_araddr_i, .s_axil_rvalid_o, .s_axil_rready_i,
    .s_axil_rdata_o, .s_axil_rresp_o,
    .cfg_dim_o(cfg_dim), .cfg_hidden_dim_o(cfg_hidden_dim), .cfg_n_layers_o(cfg_n_layers),
    .cfg_n_heads_o(cfg_n_heads), .cfg_n_kv_heads_o(cfg_n_kv_heads), .cfg_head_size_o(cfg_head_size),
    .cfg_vocab_o(cfg_vocab), .cfg_seq_len_o(cfg_seq_len), .cfg_int4_o(cfg_int4),
    .cfg_weight_base_o(cfg_weight_base), .cfg_kv_base_o(cfg_kv_base), .cfg_inv_dim_o(cfg_inv_dim),
    .cfg_score_scale_o(cfg_score_scale), .cfg_ok_o(csr_cfg_ok), .cfg_write_o(cfg_write),
    .sec_index_i(sec_index), .sec_offset_o(sec_offset), .sec_beats_o(sec_beats),
    .rope_we_o(rope_we), .rope_addr_o(rope_addr), .rope_data_o(rope_data),
    .cmd_valid_o(cmd_valid), .cmd_ready_i(cmd_ready), .cmd_data_o(cmd_data),
    .tok_in_valid_o(tok_in_valid), .tok_in_ready_i(tok_in_ready), .tok_in_data_o(tok_in_data),
    .tok_out_valid_i(tok_out_valid), .tok_out_ready_o(tok_out_ready), .tok_out_data_i(tok_out_data),
    .busy_i(busy_o), .perf_i(perf));

  // ================================================= sequencer ===
  logic            load, start, blk_logits, tok_we, page_we, pipe_busy, pipe_done;
  logic [TokW:0]   blk_tokens;
  logic [15:0]     blk_pos;
  logic [SeqW-1:0] blk_seq;
  logic [TokW-1:0] tok_addr;
  logic [14:0]     tok_data, pipe_token;
  logic [SeqW+LPageW-1:0] page_addr;
  logic [$clog2(NumPages)-1:0] page_data;
  logic [3:0]      pipe_err;
  logic [31:0]     status, prefill_cycles, prefill_tokens, decode_cycles, decode_tokens;

  tp_sequencer #(.MaxBlock(MaxBlock), .NumPages(NumPages), .MaxSeqs(MaxSeqs)) u_sequencer (
    .clk_i, .rst_ni,
    .cfg_ok_i(csr_cfg_ok && pipe_cfg_ok), .cfg_write_i(cfg_write), .cfg_seq_len_i(cfg_seq_len), .cfg_vocab_i(cfg_vocab),
    .cmd_valid_i(cmd_valid), .cmd_ready_o(cmd_ready), .cmd_data_i(cmd_data),
    .tok_in_valid_i(tok_in_valid), .tok_in_ready_o(tok_in_ready), .tok_in_data_i(tok_in_data),
    .tok_out_valid_o(tok_out_valid), .tok_out_ready_i(tok_out_ready), .tok_out_data_o(tok_out_data),
    .load_o(load), .start_o(start), .blk_tokens_o(blk_tokens), .blk_pos_o(blk_pos),
    .blk_seq_o(blk_seq), .blk_logits_o(blk_logits),
    .tok_we_o(tok_we), .tok_addr_o(tok_addr), .tok_data_o(tok_data),
    .page_we_o(page_we), .page_addr_o(page_addr), .page_data_o(page_data),
    .pipe_busy_i(pipe_busy), .pipe_done_i(pipe_done), .pipe_token_i(pipe_token), .pipe_err_i(pipe_err),
    .busy_o, .status_o(status),
    .perf_prefill_cycles_o(prefill_cycles), .perf_prefill_tokens_o(prefill_tokens),
    .perf_decode_cycles_o(decode_cycles), .perf_decode_tokens_o(decode_tokens));

  // ================================================= token pipeline ===
  logic [31:0] mat_busy, mat_issue, att_busy, vec_busy, kv_rd_beats, kv_wr_beats, kv_busy;
  logic [TokW-1:0] tap_token;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [31:0] pipe_logit;   // the argmax's value: not in the token-out word
  /* verilator lint_on UNUSEDSIGNAL */

  tp_token_pipeline #(.AddrWidth(AddrWidth), .MaxBlock(MaxBlock), .NumPages(NumPages), .MaxSeqs(MaxSeqs)) u_pipeline (
    .clk_i, .rst_ni,
    .cfg_dim_i(cfg_dim), .cfg_hidden_dim_i(cfg_hidden_dim), .cfg_n_layers_i(cfg_n_layers),
    .cfg_n_heads_i(cfg_n_heads), .cfg_n_kv_heads_i(cfg_n_kv_heads), .cfg_head_size_i(cfg_head_size),
    .cfg_vocab_i(cfg_vocab), .cfg_int4_i(cfg_int4),
    .cfg_weight_base_i(cfg_weight_base), .cfg_kv_base_i(cfg_kv_base),
    .cfg_inv_dim_m_i(cfg_inv_dim[10:0]), .cfg_inv_dim_e_i(cfg_inv_dim[31:16]),
    .cfg_score_scale_m_i(cfg_score_scale[10:0]), .cfg_score_scale_e_i(cfg_score_scale[23:16]),
    .cfg_ok_o(pipe_cfg_ok),
    .sec_index_o(sec_index), .sec_offset_i(sec_offset), .sec_beats_i(sec_beats[19:0]),
    .rope_we_i(rope_we), .rope_addr_i(rope_addr[5:0]), .rope_data_i(rope_data),
    .load_i(load), .start_i(start), .blk_tokens_i(blk_tokens), .blk_pos_i(blk_pos),
    .blk_seq_i(blk_seq), .blk_logits_i(blk_logits),
    .tok_we_i(tok_we), .tok_addr_i(tok_addr), .tok_data_i(tok_data),
    .page_we_i(page_we), .page_addr_i(page_addr), .page_data_i(page_data),
    .busy_o(pipe_busy), .done_o(pipe_done), .result_token_o(pipe_token), .result_logit_o(pipe_logit),
    .err_o(pipe_err),
    .m_axi_w_arvalid_o, .m_axi_w_arready_i, .m_axi_w_araddr_o, .m_axi_w_arlen_o, .m_axi_w_arsize_o,
    .m_axi_w_arburst_o, .m_axi_w_rvalid_i, .m_axi_w_rready_o, .m_axi_w_rdata_i, .m_axi_w_rlast_i,
    .m_axi_e_arvalid_o, .m_axi_e_arready_i, .m_axi_e_araddr_o, .m_axi_e_arlen_o, .m_axi_e_arsize_o,
    .m_axi_e_arburst_o, .m_axi_e_rvalid_i, .m_axi_e_rready_o, .m_axi_e_rdata_i, .m_axi_e_rlast_i,
    .m_axi_kv_arvalid_o, .m_axi_kv_arready_i, .m_axi_kv_araddr_o, .m_axi_kv_arlen_o,
    .m_axi_kv_arsize_o, .m_axi_kv_arburst_o, .m_axi_kv_rvalid_i, .m_axi_kv_rready_o,
    .m_axi_kv_rdata_i, .m_axi_kv_rresp_i, .m_axi_kv_rlast_i,
    .m_axi_kv_awvalid_o, .m_axi_kv_awready_i, .m_axi_kv_awaddr_o, .m_axi_kv_awlen_o,
    .m_axi_kv_awsize_o, .m_axi_kv_awburst_o, .m_axi_kv_wvalid_o, .m_axi_kv_wready_i,
    .m_axi_kv_wdata_o, .m_axi_kv_wstrb_o, .m_axi_kv_wlast_o,
    .m_axi_kv_bvalid_i, .m_axi_kv_bready_o, .m_axi_kv_bresp_i,
    .tap_valid_o, .tap_stage_o, .tap_layer_o, .tap_token_o(tap_token), .tap_pos_o, .tap_index_o,
    .tap_count_o, .tap_data_o,
    .perf_mat_busy_o(mat_busy), .perf_mat_issue_o(mat_issue), .perf_att_busy_o(att_busy),
    .perf_vec_busy_o(vec_busy), .perf_kv_rd_beats_o(kv_rd_beats), .perf_kv_wr_beats_o(kv_wr_beats),
    .perf_kv_busy_o(kv_busy));

  assign tap_token_o = 6'(tap_token);

  // ================================================= counters ===
  logic [31:0] cycles_q, w_beats_q, e_beats_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      cycles_q  <= '0;
      w_beats_q <= '0;
      e_beats_q <= '0;
    end else begin
      cycles_q <= cycles_q + 1'b1;
      if (m_axi_w_rvalid_i && m_axi_w_rready_o) w_beats_q <= w_beats_q + 1'b1;
      if (m_axi_e_rvalid_i && m_axi_e_rready_o) e_beats_q <= e_beats_q + 1'b1;
    end
  end

  assign perf = {28'd0, pipe_err, vec_busy, att_busy, mat_issue, mat_busy, kv_busy, kv_wr_beats,
                 kv_rd_beats, e_beats_q, w_beats_q, decode_tokens, decode_cycles, prefill_tokens,
                 prefill_cycles, cycles_q, status};

endmodule
