// tp_host_csr: the accelerator's host interface (docs/accelerator.md, "Host
// interface"): an AXI4-Lite slave (32-bit data, 4 KiB) holding the model
// configuration, the weight image's section table and the RoPE steps, with
// the command and token streams between the host and the sequencer.
//
// Register map (byte addresses; every access is a whole aligned 32-bit word,
// wstrb all ones; anything else answers SLVERR):
//   0x000 ID          RO  0x5450_0001 ("TP", version 1)
//   0x004 STATUS      RO  [0] cfg_ok, [1] busy (busy_i), [15:8] sticky errors
//                         (write 1s to clear: [8] bad address or strobe,
//                         [9] command FIFO full, [10] token FIFO full,
//                         [11] token id >= vocab_size)
//   0x010 DIM         RW  model dim            0x014 HIDDEN_DIM  RW
//   0x018 N_LAYERS    RW                       0x01C N_HEADS     RW
//   0x020 N_KV_HEADS  RW                       0x024 HEAD_SIZE   RW (dim / n_heads)
//   0x028 VOCAB       RW                       0x02C SEQ_LEN     RW
//                     (these eight hold 16 bits: a value above 0xFFFF is kept
//                     as 0xFFFF, beyond every maximum, so it is refused)
//   0x030 QUANT       RW  [0] 1: INT4 weights, 0: INT8
//   0x034 WEIGHT_BASE RW  weight image base, in 64-byte beats
//   0x038 KV_BASE     RW  KV region base, in 64-byte beats
//   0x03C INV_DIM     RW  1/dim as ScaleFp: [10:0] mantissa, [31:16] exponent
//   0x040 SCORE_SCALE RW  log2(e)/sqrt(head_size): [10:0] mantissa, [23:16] exponent
//   0x050 CMD         WO  push a command word to the sequencer (full: SLVERR)
//   0x054 TOKEN_IN    WO  push a prompt token id (full or id >= VOCAB: SLVERR)
//   0x058 TOKEN_OUT   RO  pop a produced token: [31] valid (0: none waiting,
//                         nothing popped), [30:27] seq, [26:16] pos, [14:0] token
//   0x080 + 4k        RO  counter k (perf_i), k < NumCounters
//   0x400 + 8i        RW  section i: offset in beats from WEIGHT_BASE
//   0x404 + 8i        RW  section i: length in beats
//   0x800 + 4j        WO  RoPE step j (turns * 2^32), forwarded to tp_rope
// Any other address (or reading a write-only one, writing a read-only one),
// or a partial strobe, answers SLVERR and sets STATUS[8].
//
// cfg_ok_o: every value within the tp_pkg maxima and consistent: 1 <= dim <=
// MaxDim, head_size * n_heads = dim, head_size <= 64 (the attention engine),
// n_kv_heads divides n_heads, 1 <= n_layers <= MaxLayers, 1 <= hidden_dim <=
// MaxHiddenDim, 1 <= vocab <= MaxVocab, 1 <= seq_len <= MaxSeqLen, the
// scales normalised. The sequencer refuses commands while it is low.
// cfg_write_o pulses (registered) after a write to a configuration or
// section-table word: the sequencer then wants a new LOAD before any block.
//
// AXI4-Lite timing: a write is taken when AW and W are both valid and no B
// response waits (awready = wready, from flops); its response follows one
// cycle later. A read is taken when no R response waits; its data follows one
// cycle later (registered). One transaction of each kind in flight.
// Streams: cmd_* and tok_in_* leave through 4- and 32-entry tp_fifo (LUT RAM);
// tok_out_* enter a 32-entry tp_fifo.
// Reset (synchronous, active low): configuration 0 (cfg_ok low), FIFOs empty,
// errors clear. The section table RAM is not reset.
module tp_host_csr #(
  parameter int unsigned MaxDim       = tp_pkg::MaxDim,          // configuration maxima (cfg_ok_o)
  parameter int unsigned MaxHiddenDim = tp_pkg::MaxHiddenDim,
  parameter int unsigned MaxLayers    = tp_pkg::MaxLayers,
  parameter int unsigned MaxHeads     = tp_pkg::MaxHeads,
  parameter int unsigned MaxKvHeads   = tp_pkg::MaxKvHeads,
  parameter int unsigned MaxVocab     = tp_pkg::MaxVocab,
  parameter int unsigned MaxSeqLen    = tp_pkg::MaxSeqLen,
  parameter int unsigned MaxHeadSize  = 64,                      // tp_attention_engine's limit
  parameter int unsigned RopeSteps    = tp_pkg::MaxHeadDim / 2,  // RoPE step registers
  parameter int unsigned NumSections  = 2 + 6 * MaxLayers + 1,   // section table entries
  parameter int unsigned NumCounters  = 8                        // perf_i words (<= 32)
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,          // synchronous reset, active low
  // AXI4-Lite slave.
  input  logic                      s_axil_awvalid_i,
  output logic                      s_axil_awready_o,
  input  logic [11:0]               s_axil_awaddr_i,
  input  logic                      s_axil_wvalid_i,
  output logic                      s_axil_wready_o,
  input  logic [31:0]               s_axil_wdata_i,
  input  logic [3:0]                s_axil_wstrb_i,
  output logic                      s_axil_bvalid_o,
  input  logic                      s_axil_bready_i,
  output logic [1:0]                s_axil_bresp_o,  // 0 OKAY, 2 SLVERR
  input  logic                      s_axil_arvalid_i,
  output logic                      s_axil_arready_o,
  input  logic [11:0]               s_axil_araddr_i,
  output logic                      s_axil_rvalid_o,
  input  logic                      s_axil_rready_i,
  output logic [31:0]               s_axil_rdata_o,
  output logic [1:0]                s_axil_rresp_o,
  // Configuration.
  output logic [15:0]               cfg_dim_o,
  output logic [15:0]               cfg_hidden_dim_o,
  output logic [15:0]               cfg_n_layers_o,
  output logic [15:0]               cfg_n_heads_o,
  output logic [15:0]               cfg_n_kv_heads_o,
  output logic [15:0]               cfg_head_size_o,
  output logic [15:0]               cfg_vocab_o,
  output logic [15:0]               cfg_seq_len_o,
  output logic                      cfg_int4_o,
  output logic [31:0]               cfg_weight_base_o,    // in beats
  output logic [31:0]               cfg_kv_base_o,        // in beats
  output logic [31:0]               cfg_inv_dim_o,        // {exponent, 5'b0, mantissa}
  output logic [31:0]               cfg_score_scale_o,
  output logic                      cfg_ok_o,
  output logic                      cfg_write_o,          // pulse: a configuration or section word was written
  // Section table read port (synchronous: data the cycle after the address).
  input  logic [$clog2(NumSections)-1:0] sec_index_i,
  output logic [31:0]               sec_offset_o,         // beats from the weight base
  output logic [31:0]               sec_beats_o,
  // RoPE step writes (to tp_rope's cfg_step_*).
  output logic                      rope_we_o,
  output logic [8:0]                rope_addr_o,
  output logic [31:0]               rope_data_o,
  // Streams to and from the sequencer.
  output logic                      cmd_valid_o,
  input  logic                      cmd_ready_i,
  output logic [31:0]               cmd_data_o,
  output logic                      tok_in_valid_o,
  input  logic                      tok_in_ready_i,
  output logic [14:0]               tok_in_data_o,
  input  logic                      tok_out_valid_i,
  output logic                      tok_out_ready_o,
  input  logic [30:0]               tok_out_data_i,       // {seq[3:0], pos[10:0], 1'b0, token[14:0]}
  // Status from the sequencer.
  input  logic                      busy_i,
  input  logic [NumCounters*32-1:0] perf_i
);

  localparam logic [31:0] IdValue = 32'h5450_0001;
  localparam int unsigned SecW = $clog2(NumSections);

  if (NumCounters == 0 || NumCounters > 32) begin : gen_counters_check
    $error("tp_host_csr: NumCounters must be in 1..32");
  end

  // ================================================= registers ===
  logic [15:0] dim_q, hidden_q, layers_q, heads_q, kv_heads_q, head_size_q, vocab_q, seq_len_q;
  logic        int4_q;
  logic [31:0] weight_base_q, kv_base_q, inv_dim_q, score_scale_q;
  logic [7:0]  err_q;

  assign cfg_dim_o         = dim_q;
  assign cfg_hidden_dim_o  = hidden_q;
  assign cfg_n_layers_o    = layers_q;
  assign cfg_n_heads_o     = heads_q;
  assign cfg_n_kv_heads_o  = kv_heads_q;
  assign cfg_head_size_o   = head_size_q;
  assign cfg_vocab_o       = vocab_q;
  assign cfg_seq_len_o     = seq_len_q;
  assign cfg_int4_o        = int4_q;
  assign cfg_weight_base_o = weight_base_q;
  assign cfg_kv_base_o     = kv_base_q;
  assign cfg_inv_dim_o     = inv_dim_q;
  assign cfg_score_scale_o = score_scale_q;

  // n_kv_heads divides n_heads, and head_size * n_heads = dim: compared with
  // every constant pair and multiple (MaxHeads is small), so no multiplier or
  // divider is built.
  logic        kv_divides, heads_times_size;
  logic [31:0] multiple;  // head_size * h, by shifts and adds of the constant h
  always_comb begin
    kv_divides       = 1'b0;
    heads_times_size = 1'b0;
    multiple         = '0;
    for (int h = 1; h <= MaxHeads; h++) begin
      for (int k = 1; k <= MaxKvHeads; k++) begin
        if (h % k == 0 && heads_q == 16'(h) && kv_heads_q == 16'(k)) kv_divides = 1'b1;
      end
      multiple = '0;
      for (int b = 0; b < 8; b++) begin
        if (((h >> b) & 1) == 1) multiple = multiple + (32'(head_size_q) << b);
      end
      if (heads_q == 16'(h) && multiple == 32'(dim_q)) heads_times_size = 1'b1;
    end
  end

  assign cfg_ok_o = dim_q >= 16'd1 && dim_q <= 16'(MaxDim) &&
                    heads_q >= 16'd1 && heads_q <= 16'(MaxHeads) &&
                    kv_heads_q >= 16'd1 && kv_heads_q <= 16'(MaxKvHeads) && kv_divides &&
                    head_size_q >= 16'd1 && head_size_q <= 16'(MaxHeadSize) && heads_times_size &&
                    layers_q >= 16'd1 && layers_q <= 16'(MaxLayers) &&
                    hidden_q >= 16'd1 && hidden_q <= 16'(MaxHiddenDim) &&
                    vocab_q >= 16'd1 && vocab_q <= 16'(MaxVocab) &&
                    seq_len_q >= 16'd1 && seq_len_q <= 16'(MaxSeqLen) &&
                    inv_dim_q[10] && score_scale_q[10];

  // ================================================= write channel ===
  logic        bvalid_q;
  logic [1:0]  bresp_q;
  logic        wr_fire;
  logic [9:0]  wr_word;               // word address
  logic        wr_full_strobe;
  logic        wr_is_cfg, wr_is_sec, wr_is_rope, wr_is_cmd, wr_is_tok, wr_is_status;
  logic        wr_ok;
  logic        cmd_full, tok_full, tok_bad;
  logic        rd_fire, rd_ok;
  logic [9:0]  rd_word;

  assign s_axil_awready_o = s_axil_awvalid_i & s_axil_wvalid_i & ~bvalid_q;
  assign s_axil_wready_o  = s_axil_awready_o;
  assign wr_fire          = s_axil_awready_o;
  assign wr_word          = s_axil_awaddr_i[11:2];
  assign wr_full_strobe   = (&s_axil_wstrb_i) && s_axil_awaddr_i[1:0] == 2'd0;  // whole aligned words
  assign wr_is_status     = wr_word == 10'h001;
  assign wr_is_cfg        = wr_word >= 10'h004 && wr_word <= 10'h010;
  assign wr_is_cmd        = wr_word == 10'h014;
  assign wr_is_tok        = wr_word == 10'h015;
  assign wr_is_sec        = wr_word >= 10'h100 && wr_word < 10'h100 + 10'(2 * NumSections);
  assign wr_is_rope       = wr_word >= 10'h200 && wr_word < 10'h200 + 10'(RopeSteps);
  assign tok_bad          = s_axil_wdata_i >= {16'd0, vocab_q};
  // A size register keeps 16 bits: larger values saturate (and are refused).
  logic [15:0] size_value;
  assign size_value = s_axil_wdata_i[31:16] != 16'd0 ? 16'hFFFF : s_axil_wdata_i[15:0];
  assign wr_ok            = wr_full_strobe && (wr_is_status || wr_is_cfg || wr_is_sec || wr_is_rope ||
                                               (wr_is_cmd && !cmd_full) || (wr_is_tok && !tok_full && !tok_bad));

  assign s_axil_bvalid_o = bvalid_q;
  assign s_axil_bresp_o  = bresp_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      bvalid_q      <= 1'b0;
      bresp_q       <= 2'd0;
      dim_q         <= '0;
      hidden_q      <= '0;
      layers_q      <= '0;
      heads_q       <= '0;
      kv_heads_q    <= '0;
      head_size_q   <= '0;
      vocab_q       <= '0;
      seq_len_q     <= '0;
      int4_q        <= 1'b0;
      weight_base_q <= '0;
      kv_base_q     <= '0;
      inv_dim_q     <= '0;
      score_scale_q <= '0;
      err_q         <= '0;
    end else begin
      if (s_axil_bvalid_o && s_axil_bready_i) bvalid_q <= 1'b0;
      if (wr_fire) begin
        bvalid_q <= 1'b1;
        bresp_q  <= wr_ok ? 2'd0 : 2'd2;
        if (!wr_full_strobe || !(wr_is_status || wr_is_cfg || wr_is_sec || wr_is_rope || wr_is_cmd || wr_is_tok)) begin
          err_q[0] <= 1'b1;
        end
        if (wr_full_strobe && wr_is_cmd && cmd_full) err_q[1] <= 1'b1;
        if (wr_full_strobe && wr_is_tok && tok_full) err_q[2] <= 1'b1;
        if (wr_full_strobe && wr_is_tok && tok_bad) err_q[3] <= 1'b1;
        if (wr_full_strobe && wr_is_status) err_q <= err_q & ~s_axil_wdata_i[15:8];
        if (wr_full_strobe && wr_is_cfg) begin
          unique case (wr_word)
            10'h004: dim_q         <= size_value;
            10'h005: hidden_q      <= size_value;
            10'h006: layers_q      <= size_value;
            10'h007: heads_q       <= size_value;
            10'h008: kv_heads_q    <= size_value;
            10'h009: head_size_q   <= size_value;
            10'h00A: vocab_q       <= size_value;
            10'h00B: seq_len_q     <= size_value;
            10'h00C: int4_q        <= s_axil_wdata_i[0];
            10'h00D: weight_base_q <= s_axil_wdata_i;
            10'h00E: kv_base_q     <= s_axil_wdata_i;
            10'h00F: inv_dim_q     <= {s_axil_wdata_i[31:16], 5'd0, s_axil_wdata_i[10:0]};
            default: score_scale_q <= {8'd0, s_axil_wdata_i[23:16], 5'd0, s_axil_wdata_i[10:0]};
          endcase
        end
      end
      if (rd_fire && !rd_ok) err_q[0] <= 1'b1;
    end
  end

  // Section table: word 2i the offset, 2i+1 the length (LUT RAM, two ports).
  logic [31:0] sec_offset_mem [NumSections];
  logic [31:0] sec_beats_mem  [NumSections];
  logic [SecW-1:0] wr_sec, rd_sec;
  assign wr_sec = SecW'((wr_word - 10'h100) >> 1);

  always_ff @(posedge clk_i) begin
    if (wr_fire && wr_full_strobe && wr_is_sec) begin
      if (wr_word[0]) sec_beats_mem[wr_sec] <= s_axil_wdata_i;
      else sec_offset_mem[wr_sec] <= s_axil_wdata_i;
    end
  end
  always_ff @(posedge clk_i) begin
    sec_offset_o <= sec_offset_mem[sec_index_i];
    sec_beats_o  <= sec_beats_mem[sec_index_i];
  end

  // A changed configuration or section table needs a new LOAD (tp_sequencer).
  always_ff @(posedge clk_i) begin
    if (!rst_ni) cfg_write_o <= 1'b0;
    else cfg_write_o <= wr_fire && wr_full_strobe && (wr_is_cfg || wr_is_sec);
  end

  // RoPE steps pass through to tp_rope.
  always_ff @(posedge clk_i) begin
    if (!rst_ni) rope_we_o <= 1'b0;
    else rope_we_o <= wr_fire && wr_full_strobe && wr_is_rope;
  end
  always_ff @(posedge clk_i) begin
    rope_addr_o <= 9'(wr_word - 10'h200);
    rope_data_o <= s_axil_wdata_i;
  end

  // ================================================= FIFOs ===
  logic        cmd_push, tok_push, out_valid, out_pop, cmd_room, tok_room;
  logic [30:0] out_head;
  /* verilator lint_off UNUSEDSIGNAL */
  // Fullness comes from in_ready_o; the counts are not needed here.
  logic [2:0]  cmd_count;
  logic [5:0]  tok_count, out_count;
  /* verilator lint_on UNUSEDSIGNAL */

  assign cmd_push = wr_fire && wr_ok && wr_is_cmd;
  assign tok_push = wr_fire && wr_ok && wr_is_tok;
  assign cmd_full = !cmd_room;
  assign tok_full = !tok_room;

  tp_fifo #(.Width(32), .Depth(4)) u_cmd_fifo (
    .clk_i, .rst_ni,
    .in_valid_i (cmd_push),       .in_ready_o (cmd_room),   .in_data_i (s_axil_wdata_i),
    .out_valid_o(cmd_valid_o),    .out_ready_i(cmd_ready_i), .out_data_o(cmd_data_o),
    .count_o    (cmd_count)
  );

  tp_fifo #(.Width(15), .Depth(32)) u_tok_fifo (
    .clk_i, .rst_ni,
    .in_valid_i (tok_push),       .in_ready_o (tok_room),      .in_data_i (s_axil_wdata_i[14:0]),
    .out_valid_o(tok_in_valid_o), .out_ready_i(tok_in_ready_i), .out_data_o(tok_in_data_o),
    .count_o    (tok_count)
  );

  tp_fifo #(.Width(31), .Depth(32)) u_out_fifo (
    .clk_i, .rst_ni,
    .in_valid_i (tok_out_valid_i), .in_ready_o (tok_out_ready_o), .in_data_i (tok_out_data_i),
    .out_valid_o(out_valid),       .out_ready_i(out_pop),         .out_data_o(out_head),
    .count_o    (out_count)
  );

  // ================================================= read channel ===
  logic        rvalid_q;
  logic [31:0] rdata_q, rdata_d;
  logic [1:0]  rresp_q;

  assign s_axil_arready_o = ~rvalid_q;
  assign rd_fire          = s_axil_arvalid_i & s_axil_arready_o;
  assign rd_word          = s_axil_araddr_i[11:2];
  assign rd_sec           = SecW'((rd_word - 10'h100) >> 1);
  assign out_pop          = rd_fire && rd_word == 10'h016;
  assign s_axil_rvalid_o  = rvalid_q;
  assign s_axil_rdata_o   = rdata_q;
  assign s_axil_rresp_o   = rresp_q;

  always_comb begin
    rd_ok   = s_axil_araddr_i[1:0] == 2'd0;  // whole aligned words
    rdata_d = '0;
    if (rd_word == 10'h000) rdata_d = IdValue;
    else if (rd_word == 10'h001) rdata_d = {16'd0, err_q, 6'd0, busy_i, cfg_ok_o};
    else if (rd_word >= 10'h004 && rd_word <= 10'h010) begin
      unique case (rd_word)
        10'h004: rdata_d = {16'd0, dim_q};
        10'h005: rdata_d = {16'd0, hidden_q};
        10'h006: rdata_d = {16'd0, layers_q};
        10'h007: rdata_d = {16'd0, heads_q};
        10'h008: rdata_d = {16'd0, kv_heads_q};
        10'h009: rdata_d = {16'd0, head_size_q};
        10'h00A: rdata_d = {16'd0, vocab_q};
        10'h00B: rdata_d = {16'd0, seq_len_q};
        10'h00C: rdata_d = {31'd0, int4_q};
        10'h00D: rdata_d = weight_base_q;
        10'h00E: rdata_d = kv_base_q;
        10'h00F: rdata_d = inv_dim_q;
        default: rdata_d = score_scale_q;
      endcase
    end else if (rd_word == 10'h016) begin
      rdata_d = out_valid ? {1'b1, out_head} : 32'd0;
    end else if (rd_word >= 10'h020 && rd_word < 10'h020 + 10'(NumCounters)) begin
      rdata_d = perf_i[32*(rd_word - 10'h020) +: 32];
    end else if (rd_word >= 10'h100 && rd_word < 10'h100 + 10'(2 * NumSections)) begin
      rdata_d = rd_word[0] ? sec_beats_mem[rd_sec] : sec_offset_mem[rd_sec];
    end else begin
      rd_ok = 1'b0;  // write-only or unmapped
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      rvalid_q <= 1'b0;
    end else begin
      if (s_axil_rvalid_o && s_axil_rready_i) rvalid_q <= 1'b0;
      if (rd_fire) rvalid_q <= 1'b1;
    end
  end
  always_ff @(posedge clk_i) begin
    if (rd_fire) begin
      rdata_q <= rd_ok ? rdata_d : 32'd0;
      rresp_q <= rd_ok ? 2'd0 : 2'd2;
    end
  end

`ifndef SYNTHESIS
  tp_stream_checker #(.Width(32), .Name("tp_host_csr cmd")) u_cmd_check (
    .clk_i, .rst_ni, .valid_i(cmd_valid_o), .ready_i(cmd_ready_i), .data_i(cmd_data_o)
  );
  tp_stream_checker #(.Width(15), .Name("tp_host_csr tok_in")) u_tok_check (
    .clk_i, .rst_ni, .valid_i(tok_in_valid_o), .ready_i(tok_in_ready_i), .data_i(tok_in_data_o)
  );
  tp_stream_checker #(.Width(31), .Name("tp_host_csr tok_out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(tok_out_valid_i), .ready_i(tok_out_ready_o), .data_i(tok_out_data_i)
  );
`endif

endmodule
