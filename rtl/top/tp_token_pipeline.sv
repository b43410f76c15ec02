// tp_token_pipeline: one forward pass of a block of T tokens (T = 1: a decode
// step; T <= MaxBlock: a prefill block) of one sequence, bit-exact with
// tp::fx::IntModel::forward per token (golden/int/int_model.cpp), and the
// argmax of the block's last logits. docs/accelerator.md has the design.
//
// Micro-ops, one at a time, in the golden order (uop_q):
//   EMBED    tp_embedding: row of each token -> X
//   per layer l:
//   NORM_ATT tp_rmsnorm(X, gains 2l) -> A (INT8 groups + scales)
//   MAT_QKV  A -> tp_matrix_unit (wqkv) -> S (q | k | v per token), q and k
//            through tp_rope on the way (heads within row groups; else:)
//   ROPE     tp_rope on q and k of S, in place
//   KV       per KV head: its k and v heads of S -> tp_head_quant ->
//            tp_attention_unit appends, then its q heads -> attention jobs
//            -> H, whose segment reads wait for the head's appends (the
//            engine attends with one head while the next is appended).
//            Decode, while the layer's KV segments fit the port: the
//            segments are read ahead from NORM_ATT on, with the new token's
//            append forwarded into them, and per KV head its q heads come
//            before its k and v head
//            -> tp_act_quant -> A (a prefill token as its last head is out)
//   MAT_WO   A -> wo -> tp_residual_add with X -> X
//   NORM_FFN tp_rmsnorm(X, gains 2l+1) -> A
//   MAT_W13  A -> w13 -> tp_silu(gate, up) -> S, and each group of 32 as it
//            completes -> tp_act_quant -> A
//   MAT_W2   A -> w2 -> tp_residual_add with X -> X
//   NORM_FIN tp_rmsnorm(X of the last token, gains 2L) -> A   (logits only)
//   MAT_CLS  A -> classifier -> tp_argmax                     (logits only)
// The matrix issuer sends every matrix command of the block to the matrix
// unit at the start (the unit queues them and its weight port prefetches the
// next matrices while the vector micro-ops run): weight streaming overlaps
// all the vector work.
//
// Buffers (tp_ram, 8 int32 lanes = 256 bits a word, token t at a fixed
// stride): X residual stream (MaxDim/8 words a token), S q/k/v and then the
// gated FFN vector (3 MaxDim/8 words), H attention output, A the INT8 groups
// of the next matmul (one group a word, MaxHiddenDim/32 a token) with their
// scales, and the RMSNorm gains of every vector (loaded once by LOAD, 32
// gains a word). One reader streams words out of X, S or A (1-cycle RAM,
// 4-entry FIFO with credits) into the micro-op's unit; in prefill a group
// feeder reads finished vectors back from H or S into tp_act_quant.
//
// Requirements checked by cfg_ok_o: dim and head_size multiples of 8 (words
// hold whole heads), head_size <= 64, kv_dim = head_size x n_kv_heads, the
// maxima of tp_pkg. PageSize is tp_pkg::PageSize; positions come from the
// sequencer, which owns the page table: page_* writes the physical page of
// (sequence, logical page).
//
// err_o (sticky until reset): [0] matrix unit (command, weight framing,
// activation count), [1] attention unit (engine error, refused or failed KV
// access), [2] embedding refused a token, [3] head quantizer configuration.
module tp_token_pipeline #(
  parameter int unsigned AddrWidth    = 34,
  parameter int unsigned MaxBlock     = tp_pkg::MaxBatchTokens,  // tokens per block, <= MaxBatchTokens
  parameter int unsigned NumPages     = 64,
  parameter int unsigned MaxSeqs      = 8,
  parameter int unsigned MaxDim       = tp_pkg::MaxDim,
  parameter int unsigned MaxHiddenDim = tp_pkg::MaxHiddenDim,
  parameter int unsigned MaxLayers    = tp_pkg::MaxLayers,
  parameter int unsigned MaxKvHeads   = tp_pkg::MaxKvHeads,
  parameter int unsigned MaxVocab     = tp_pkg::MaxVocab,
  parameter int unsigned MaxBatch     = tp_pkg::MaxBatchTokens,  // the matrix unit's tokens per command
  parameter int unsigned MaxSeqLen    = tp_pkg::MaxSeqLen,
  parameter int unsigned PageSize     = tp_pkg::PageSize,
  parameter int unsigned NumSections  = 2 + 6 * MaxLayers + 1,
  // The matrix unit: its engine takes two weight beats a cycle out of the
  // port's FIFO, so it catches up after the vector micro-ops (the weights of
  // the next matrix stream in meanwhile); a 16 x 16 PE array computes a tile
  // in 4 cycles a token, as fast as 2 beats a cycle bring an INT4 tile (9
  // beats) and faster than an INT8 one (17).
  parameter int unsigned MatrixRows   = 16,
  parameter int unsigned MatrixCols   = 16,
  parameter int unsigned MatrixLoadBeats = 2,
  // Weight beats the matrix unit's port prefetches during the vector work:
  // 1024 costs no more block RAM than 512 with two beats a cycle (two banks
  // of 512 x 36 RAMB18s instead of half-full ones).
  parameter int unsigned MatrixFifoBeats = 1024,
  // Derived: do not override.
  parameter int unsigned TokW         = $clog2(MaxBlock),
  parameter int unsigned SeqW         = $clog2(MaxSeqs),
  parameter int unsigned LPageW       = $clog2(MaxSeqLen / PageSize),
  parameter int unsigned PPageW       = $clog2(NumPages)
) (
  input  logic                   clk_i,
  input  logic                   rst_ni,
  // Configuration (tp_host_csr; stable while busy).
  input  logic [15:0]            cfg_dim_i,
  input  logic [15:0]            cfg_hidden_dim_i,
  input  logic [15:0]            cfg_n_layers_i,
  input  logic [15:0]            cfg_n_heads_i,
  input  logic [15:0]            cfg_n_kv_heads_i,
  input  logic [15:0]            cfg_head_size_i,
  input  logic [15:0]            cfg_vocab_i,
  input  logic                   cfg_int4_i,
  input  logic [31:0]            cfg_weight_base_i,  // beats
  input  logic [31:0]            cfg_kv_base_i,      // beats
  input  logic [10:0]            cfg_inv_dim_m_i,    // 1/dim (ScaleFp)
  input  logic [15:0]            cfg_inv_dim_e_i,
  input  logic [10:0]            cfg_score_scale_m_i,  // log2(e) / sqrt(head_size)
  input  logic [7:0]             cfg_score_scale_e_i,
  output logic                   cfg_ok_o,           // the pipeline supports this configuration
  output logic [$clog2(NumSections)-1:0] sec_index_o,
  input  logic [31:0]            sec_offset_i,
  input  logic [19:0]            sec_beats_i,
  input  logic                   rope_we_i,
  input  logic [5:0]             rope_addr_i,
  input  logic [31:0]            rope_data_i,
  // Control (from tp_sequencer): one operation at a time, while !busy_o.
  input  logic                   load_i,             // read the gains of the image
  input  logic                   start_i,            // run a block
  input  logic [TokW:0]          blk_tokens_i,       // 1 .. MaxBlock
  input  logic [15:0]            blk_pos_i,          // position of token 0
  input  logic [SeqW-1:0]        blk_seq_i,
  input  logic                   blk_logits_i,       // compute the last token's logits and argmax
  input  logic                   tok_we_i,           // token ids of the block
  input  logic [TokW-1:0]        tok_addr_i,
  input  logic [14:0]            tok_data_i,
  input  logic                   page_we_i,          // page table entry
  input  logic [SeqW+LPageW-1:0] page_addr_i,        // {seq, position / PageSize}
  input  logic [PPageW-1:0]      page_data_i,
  output logic                   busy_o,
  output logic                   done_o,             // pulse: the operation finished
  output logic [14:0]            result_token_o,     // argmax of the last logits
  output logic [31:0]            result_logit_o,
  output logic [3:0]             err_o,
  // Memory ports.
  output logic                   m_axi_w_arvalid_o,
  input  logic                   m_axi_w_arready_i,
  output logic [AddrWidth-1:0]   m_axi_w_araddr_o,
  output logic [7:0]             m_axi_w_arlen_o,
  output logic [2:0]             m_axi_w_arsize_o,
  output logic [1:0]             m_axi_w_arburst_o,
  input  logic                   m_axi_w_rvalid_i,
  output logic                   m_axi_w_rready_o,
  input  logic [511:0]           m_axi_w_rdata_i,
  input  logic                   m_axi_w_rlast_i,
  output logic                   m_axi_e_arvalid_o,
  input  logic                   m_axi_e_arready_i,
  output logic [AddrWidth-1:0]   m_axi_e_araddr_o,
  output logic [7:0]             m_axi_e_arlen_o,
  output logic [2:0]             m_axi_e_arsize_o,
  output logic [1:0]             m_axi_e_arburst_o,
  input  logic                   m_axi_e_rvalid_i,
  output logic                   m_axi_e_rready_o,
  input  logic [511:0]           m_axi_e_rdata_i,
  input  logic                   m_axi_e_rlast_i,
  output logic                   m_axi_kv_arvalid_o,
  input  logic                   m_axi_kv_arready_i,
  output logic [AddrWidth-1:0]   m_axi_kv_araddr_o,
  output logic [7:0]             m_axi_kv_arlen_o,
  output logic [2:0]             m_axi_kv_arsize_o,
  output logic [1:0]             m_axi_kv_arburst_o,
  input  logic                   m_axi_kv_rvalid_i,
  output logic                   m_axi_kv_rready_o,
  input  logic [511:0]           m_axi_kv_rdata_i,
  input  logic [1:0]             m_axi_kv_rresp_i,
  input  logic                   m_axi_kv_rlast_i,
  output logic                   m_axi_kv_awvalid_o,
  input  logic                   m_axi_kv_awready_i,
  output logic [AddrWidth-1:0]   m_axi_kv_awaddr_o,
  output logic [7:0]             m_axi_kv_awlen_o,
  output logic [2:0]             m_axi_kv_awsize_o,
  output logic [1:0]             m_axi_kv_awburst_o,
  output logic                   m_axi_kv_wvalid_o,
  input  logic                   m_axi_kv_wready_i,
  output logic [511:0]           m_axi_kv_wdata_o,
  output logic [63:0]            m_axi_kv_wstrb_o,
  output logic                   m_axi_kv_wlast_o,
  input  logic                   m_axi_kv_bvalid_i,
  output logic                   m_axi_kv_bready_o,
  input  logic [1:0]             m_axi_kv_bresp_i,
  // Debug taps (tp_accel_top).
  output logic                   tap_valid_o,
  output logic [1:0]             tap_stage_o,
  output logic [7:0]             tap_layer_o,
  output logic [TokW-1:0]        tap_token_o,
  output logic [15:0]            tap_pos_o,
  output logic [15:0]            tap_index_o,
  output logic [5:0]             tap_count_o,
  output logic [1023:0]          tap_data_o,
  // Counters (wrap around).
  output logic [31:0]            perf_mat_busy_o,
  output logic [31:0]            perf_mat_issue_o,
  output logic [31:0]            perf_att_busy_o,
  output logic [31:0]            perf_vec_busy_o,
  output logic [31:0]            perf_kv_rd_beats_o,
  output logic [31:0]            perf_kv_wr_beats_o,
  output logic [31:0]            perf_kv_busy_o
);

  // ================================================= sizes ===
  // Token t's words start at t << Shift (strides rounded up to powers of two,
  // so a buffer address is {t, word} and no multiplier is built).
  localparam int unsigned XShift   = $clog2(MaxDim / 8);         // words of a token in X and H
  localparam int unsigned SShift   = $clog2(3 * MaxDim / 8);     // words of a token in S
  localparam int unsigned AShift   = $clog2(MaxHiddenDim / 32);  // groups of a token in A
  localparam int unsigned XStride  = 1 << XShift;
  localparam int unsigned SStride  = 1 << SShift;
  localparam int unsigned AStride  = 1 << AShift;
  localparam int unsigned GainVecs = 2 * MaxLayers + 1;
  localparam int unsigned GainShift = $clog2(MaxDim / 32);       // gain words of a vector: 1 << GainShift
  localparam int unsigned GainBeats = 1 << GainShift;
  localparam int unsigned XDepth   = MaxBlock * XStride;
  localparam int unsigned SDepth   = MaxBlock * SStride;
  localparam int unsigned ADepth   = MaxBlock * AStride;
  localparam int unsigned GDepth   = GainVecs * GainBeats;
  localparam int unsigned XAW = $clog2(XDepth);
  localparam int unsigned SAW = $clog2(SDepth);
  localparam int unsigned AAW = $clog2(ADepth);
  localparam int unsigned GAW = $clog2(GDepth);
  localparam int unsigned RAW = SAW;                             // reader address bits (S is the largest)
  localparam int unsigned SecW = $clog2(NumSections);
  localparam int unsigned LayerW = $clog2(MaxLayers);
  localparam int unsigned HeadW = $clog2(MaxKvHeads);
  localparam int unsigned SlotW = $clog2(16);
  localparam int unsigned DimW = $clog2(MaxDim) + 1;
  localparam int unsigned VocabCntW = $clog2(MaxVocab + 1);
  localparam int unsigned NLayersW = $clog2(MaxLayers + 1);
  localparam int unsigned NKvW = $clog2(MaxKvHeads + 1);
  localparam int unsigned APageW = $clog2(NumPages) + 1;
  localparam int unsigned PosW = $clog2(MaxSeqLen);

  if (SStride * 8 < MaxHiddenDim) begin : gen_s_check
    $error("tp_token_pipeline: S must hold the gated FFN vector (3 MaxDim >= MaxHiddenDim)");
  end
  if (MaxBlock > MaxBatch || (MaxBlock & (MaxBlock - 1)) != 0) begin : gen_block_check
    $error("tp_token_pipeline: MaxBlock must be a power of two <= MaxBatchTokens");
  end


  // ================================================= configuration ===
  // Derived once per operation from the CSR values (registered: they are
  // stable while busy). Products of two run-time values by shift-add over
  // the bits of the smaller one.
  logic [6:0]  dim_w;      // dim / 8
  logic [3:0]  hs_w;       // head_size / 8
  logic [7:0]  hid_w;      // ceil(hidden / 8)
  logic [5:0]  dim_groups; // ceil(dim / 32)
  logic [5:0]  hid_groups; // ceil(hidden / 32)
  logic [7:0]  kv_w_d;     // kv_dim / 8 = hs_w * n_kv_heads
  logic [4:0]  kv_mul_d;   // n_heads / n_kv_heads
  logic [4:0]  chunk_d;    // tokens per attention job: floor(16 / kv_mul)
  logic [7:0]  grp_w_d;    // words of one KV head's query heads: kv_mul * hs_w
  logic [15:0] multiple;
  logic        shape_ok;

  assign dim_w      = cfg_dim_i[9:3];
  assign hs_w       = cfg_head_size_i[6:3];
  assign hid_w      = 8'((cfg_hidden_dim_i + 16'd7) >> 3);
  assign dim_groups = 6'((cfg_dim_i + 16'd31) >> 5);
  assign hid_groups = 6'((cfg_hidden_dim_i + 16'd31) >> 5);

  always_comb begin
    kv_w_d   = '0;
    for (int b = 0; b < 5; b++) begin
      if (cfg_n_kv_heads_i[b]) kv_w_d = kv_w_d + (8'(hs_w) << b);
    end
    // kv_mul: the k with k * n_kv_heads = n_heads; chunk: the largest c with
    // c * kv_mul <= 16 (products of a constant by shift-add: no DSP).
    kv_mul_d = 5'd1;
    for (int k = 1; k <= 16; k++) begin
      multiple = '0;
      for (int b = 0; b < 5; b++) begin
        if (((k >> b) & 1) == 1) multiple = multiple + (cfg_n_kv_heads_i << b);
      end
      if (multiple == cfg_n_heads_i) kv_mul_d = 5'(k);
    end
    chunk_d = 5'd1;
    for (int c = 1; c <= 16; c++) begin
      multiple = '0;
      for (int b = 0; b < 5; b++) begin
        if (((c >> b) & 1) == 1) multiple = multiple + (16'(kv_mul_d) << b);
      end
      if (multiple <= 16'd16) chunk_d = 5'(c);
    end
    grp_w_d = '0;
    for (int b = 0; b < 5; b++) begin
      if (kv_mul_d[b]) grp_w_d = grp_w_d + (8'(hs_w) << b);
    end
  end

  assign shape_ok = cfg_dim_i[2:0] == 3'd0 && cfg_head_size_i[2:0] == 3'd0 &&
                    cfg_head_size_i >= 16'd8 && cfg_head_size_i <= 16'd64 &&
                    cfg_dim_i >= 16'd8 && cfg_dim_i <= 16'(MaxDim) &&
                    cfg_hidden_dim_i >= 16'd1 && cfg_hidden_dim_i <= 16'(MaxHiddenDim) &&
                    cfg_n_layers_i >= 16'd1 && cfg_n_layers_i <= 16'(MaxLayers) &&
                    cfg_n_kv_heads_i >= 16'd1 && cfg_n_kv_heads_i <= 16'(MaxKvHeads);

  logic [6:0]  kv_w;
  logic [4:0]  kv_mul, chunk;
  logic [7:0]  grp_w;
  logic [15:0] qkv_rows;
  always_ff @(posedge clk_i) begin
    kv_w     <= kv_w_d[6:0];
    kv_mul   <= kv_mul_d;
    chunk    <= chunk_d;
    grp_w    <= grp_w_d;
    qkv_rows <= 16'(cfg_dim_i + {5'd0, kv_w_d, 4'd0});
  end

  // ================================================= operation state ===
  typedef enum logic [3:0] {
    UopEmbed, UopNormAtt, UopMatQkv, UopRope, UopKv, UopMatWo,
    UopNormFfn, UopMatW13, UopMatW2, UopNormFin, UopMatCls, UopLoad, UopIdle
  } uop_e;

  uop_e                uop_q;
  logic                uop_start_q;    // first cycle of uop_q
  logic                uop_done;       // uop_q finishes at this edge
  logic [LayerW:0]     layer_q;
  logic [TokW:0]       ntok_q;         // tokens of the block
  logic [15:0]         pos0_q;
  logic [SeqW-1:0]     seq_q;
  logic                logits_q;
  logic                stream_q;       // T = 1: attention and SiLU outputs go straight to tp_act_quant
  logic                pf_ok_q;        // T = 1 and the layer's KV segments fit the port: read ahead, queries first
  logic                rope_fold;      // RoPE on the way from the matrix unit into S (no ROPE micro-op)
  logic [3:0]          err_q;
  logic                done_q;
  logic [14:0]         res_token_q;
  logic [31:0]         res_logit_q;
  logic [LayerW:0]     n_layers;
  logic                last_layer;

  assign n_layers   = cfg_n_layers_i[LayerW:0];
  assign last_layer = layer_q == n_layers - 1'b1;

  uop_e uop_next;
  always_comb begin
    uop_next = UopIdle;
    unique case (uop_q)
      UopLoad:    uop_next = UopIdle;
      UopEmbed:   uop_next = UopNormAtt;
      UopNormAtt: uop_next = UopMatQkv;
      UopMatQkv:  uop_next = rope_fold ? UopKv : UopRope;
      UopRope:    uop_next = UopKv;
      UopKv:      uop_next = UopMatWo;
      UopMatWo:   uop_next = UopNormFfn;
      UopNormFfn: uop_next = UopMatW13;
      UopMatW13:  uop_next = UopMatW2;
      UopMatW2:   uop_next = !last_layer ? UopNormAtt : (logits_q ? UopNormFin : UopIdle);
      UopNormFin: uop_next = UopMatCls;
      UopMatCls:  uop_next = UopIdle;
      default:    uop_next = UopIdle;
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      uop_q       <= UopIdle;
      uop_start_q <= 1'b0;
      layer_q     <= '0;
      done_q      <= 1'b0;
      ntok_q      <= '0;
      pos0_q      <= '0;
      seq_q       <= '0;
      logits_q    <= 1'b0;
      stream_q    <= 1'b0;
    end else begin
      uop_start_q <= 1'b0;
      done_q      <= 1'b0;
      if (uop_q == UopIdle) begin
        if (load_i) begin
          uop_q       <= UopLoad;
          uop_start_q <= 1'b1;
        end else if (start_i) begin
          uop_q       <= UopEmbed;
          uop_start_q <= 1'b1;
          layer_q     <= '0;
          ntok_q      <= blk_tokens_i;
          pos0_q      <= blk_pos_i;
          seq_q       <= blk_seq_i;
          logits_q    <= blk_logits_i;
          stream_q    <= blk_tokens_i == (TokW + 1)'(1);
        end
      end else if (uop_done) begin
        uop_q       <= uop_next;
        uop_start_q <= uop_next != UopIdle;
        done_q      <= uop_next == UopIdle;
        if (uop_q == UopMatW2) layer_q <= layer_q + 1'b1;
      end
    end
  end

  assign busy_o         = uop_q != UopIdle;
  assign done_o         = done_q;
  assign result_token_o = res_token_q;
  assign result_logit_o = res_logit_q;
  assign err_o          = err_q;

  logic [TokW-1:0] last_tok;       // index of the block's last token
  assign last_tok = TokW'(ntok_q - 1'b1);
  localparam logic [TokW:0] OneTok = 1;

  // ================================================= buffers ===
  logic           x_we, x_re, s_we, s_re, h_we, h_re, a_we, a_re, as_we, g_we, g_re;
  logic [XAW-1:0] x_waddr, x_raddr, h_waddr, h_raddr;
  logic [SAW-1:0] s_waddr, s_raddr;
  logic [AAW-1:0] a_waddr, a_raddr, as_waddr;
  logic [GAW-1:0] g_waddr, g_raddr;
  logic [255:0]   x_wdata, x_rdata, s_wdata, s_rdata, h_wdata, h_rdata, a_wdata, a_rdata;
  logic [26:0]    as_wdata, as_rdata;
  logic [511:0]   g_wdata, g_rdata;
  logic           gq_issue;       // the group feeder reads S or H (below)
  logic [SAW-1:0] gq_raddr;

  tp_ram #(.Width(256), .Depth(XDepth)) u_x (
    .clk_i, .we_i(x_we), .wr_addr_i(x_waddr), .wr_data_i(x_wdata),
    .re_i(x_re), .rd_addr_i(x_raddr), .rd_data_o(x_rdata));
  tp_ram #(.Width(256), .Depth(SDepth)) u_s (
    .clk_i, .we_i(s_we), .wr_addr_i(s_waddr), .wr_data_i(s_wdata),
    .re_i(s_re), .rd_addr_i(s_raddr), .rd_data_o(s_rdata));
  tp_ram #(.Width(256), .Depth(XDepth)) u_h (
    .clk_i, .we_i(h_we), .wr_addr_i(h_waddr), .wr_data_i(h_wdata),
    .re_i(h_re), .rd_addr_i(h_raddr), .rd_data_o(h_rdata));
  tp_ram #(.Width(256), .Depth(ADepth)) u_a (
    .clk_i, .we_i(a_we), .wr_addr_i(a_waddr), .wr_data_i(a_wdata),
    .re_i(a_re), .rd_addr_i(a_raddr), .rd_data_o(a_rdata));
  tp_ram #(.Width(27), .Depth(ADepth)) u_a_scale (
    .clk_i, .we_i(as_we), .wr_addr_i(as_waddr), .wr_data_i(as_wdata),
    .re_i(a_re), .rd_addr_i(a_raddr), .rd_data_o(as_rdata));
  tp_ram #(.Width(512), .Depth(GDepth)) u_gain (
    .clk_i, .we_i(g_we), .wr_addr_i(g_waddr), .wr_data_i(g_wdata),
    .re_i(g_re), .rd_addr_i(g_raddr), .rd_data_o(g_rdata));

  // Block token ids and the page tables (LUT RAM, asynchronous read).
  logic [14:0]       tok_mem [MaxBlock];
  logic [PPageW-1:0] page_mem [MaxSeqs * (MaxSeqLen / PageSize)];
  always_ff @(posedge clk_i) begin
    if (tok_we_i) tok_mem[tok_addr_i] <= tok_data_i;
    if (page_we_i) page_mem[page_addr_i] <= page_data_i;
  end


  logic [15:0] gain_exp_q [GainVecs];

  // ================================================= LOAD: gains ===
  // Section 0 (embedding) for its base, then each gain vector (rms_att l at
  // 1 + 6l, rms_ffn l at 4 + 6l, rms_final at 1 + 6L) through a weight port
  // on the aux AXI master: mantissa beats into the gain RAM, the exponent
  // beat into gain_exp_q.
  typedef enum logic [1:0] {LdSec, LdWait, LdCmd, LdData} ld_e;
  ld_e                 ld_q;
  logic [5:0]          ld_vec_q;       // 0: embedding section; 1 + v: gain vector v
  logic [3:0]          ld_beat_q;
  logic [AddrWidth-1:0] emb_base_q;
  logic                gp_cmd_valid, gp_cmd_ready, gp_out_valid, gp_out_last;
  logic [511:0]        gp_out_data;
  logic [AddrWidth-1:0] sec_addr;      // byte address of the section read last cycle
  logic [SecW-1:0]     ld_sec, mi_sec;
  logic [5:0]          gain_vecs;      // 2L + 1
  logic [5:0]          ld_v;

  assign sec_addr  = AddrWidth'({cfg_weight_base_i + sec_offset_i, 6'd0});
  assign gain_vecs = {n_layers, 1'b1};
  assign ld_v      = ld_vec_q - 1'b1;
  // Vector v: layer v/2, rms_att (even) at 1 + 6l, rms_ffn (odd) at 4 + 6l.
  assign ld_sec    = ld_vec_q == 6'd0 ? '0 : SecW'((32'(ld_v[5:1]) << 2) + (32'(ld_v[5:1]) << 1) + (ld_v[0] ? 4 : 1));

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      ld_q      <= LdSec;
      ld_vec_q  <= '0;
      ld_beat_q <= '0;
    end else if (uop_q == UopLoad) begin
      unique case (ld_q)
        LdSec:  ld_q <= LdWait;
        LdWait: begin
          if (ld_vec_q == 6'd0) begin
            emb_base_q <= sec_addr;
            ld_vec_q   <= 6'd1;
            ld_q       <= LdSec;
          end else begin
            ld_q <= LdCmd;
          end
        end
        LdCmd: if (gp_cmd_ready) begin
          ld_q      <= LdData;
          ld_beat_q <= '0;
        end
        LdData: if (gp_out_valid) begin
          ld_beat_q <= ld_beat_q + 1'b1;
          if (gp_out_last) begin
            gain_exp_q[ld_v] <= gp_out_data[15:0];
            ld_vec_q         <= ld_vec_q + 1'b1;
            ld_q             <= LdSec;
          end
        end
        default: ld_q <= LdSec;
      endcase
      // Ready for the next LOAD: its first lookup starts in LdSec (a LOAD
      // that began in LdWait took the issuer's section as the embedding's).
      if (uop_done) begin
        ld_vec_q <= '0;
        ld_q     <= LdSec;
      end
    end
  end

  logic load_done;
  assign load_done    = uop_q == UopLoad && ld_q == LdSec && ld_vec_q == gain_vecs + 1'b1;
  assign gp_cmd_valid = uop_q == UopLoad && ld_q == LdCmd;
  assign g_we         = uop_q == UopLoad && ld_q == LdData && gp_out_valid && !gp_out_last;
  assign g_waddr      = GAW'((32'(ld_v) << GainShift) + 32'(ld_beat_q));
  assign g_wdata      = gp_out_data;

  // The aux AXI master: the gain port during LOAD, else the embedding.
  logic                 gp_arvalid, gp_rready, em_arvalid, em_rready;
  logic [AddrWidth-1:0] gp_araddr, em_araddr;
  logic [7:0]           gp_arlen, em_arlen;
  logic [2:0]           gp_arsize, em_arsize;
  logic [1:0]           gp_arburst, em_arburst;
  logic                 aux_is_load;
  assign aux_is_load = uop_q == UopLoad;

  /* verilator lint_off PINCONNECTEMPTY */
  tp_weight_port #(.AddrWidth(AddrWidth), .MaxOutstanding(2), .FifoBeats(64)) u_gain_port (
    .clk_i, .rst_ni,
    .cmd_valid_i(gp_cmd_valid), .cmd_ready_o(gp_cmd_ready),
    .cmd_addr_i(sec_addr), .cmd_beats_i(sec_beats_i),
    .m_axi_arvalid_o(gp_arvalid), .m_axi_arready_i(m_axi_e_arready_i & aux_is_load),
    .m_axi_araddr_o(gp_araddr), .m_axi_arlen_o(gp_arlen), .m_axi_arsize_o(gp_arsize),
    .m_axi_arburst_o(gp_arburst),
    .m_axi_rvalid_i(m_axi_e_rvalid_i & aux_is_load), .m_axi_rready_o(gp_rready),
    .m_axi_rdata_i(m_axi_e_rdata_i), .m_axi_rlast_i(m_axi_e_rlast_i),
    .out_valid_o(gp_out_valid), .out_ready_i(1'b1), .out_data_o(gp_out_data),
    .out_last_o(gp_out_last),
    .perf_busy_o(), .perf_out_stall_o(), .perf_mem_wait_o());
  /* verilator lint_on PINCONNECTEMPTY */

  assign m_axi_e_arvalid_o = aux_is_load ? gp_arvalid : em_arvalid;
  assign m_axi_e_araddr_o  = aux_is_load ? gp_araddr : em_araddr;
  assign m_axi_e_arlen_o   = aux_is_load ? gp_arlen : em_arlen;
  assign m_axi_e_arsize_o  = aux_is_load ? gp_arsize : em_arsize;
  assign m_axi_e_arburst_o = aux_is_load ? gp_arburst : em_arburst;
  assign m_axi_e_rready_o  = aux_is_load ? gp_rready : em_rready;

  // ================================================= matrix issuer ===
  // Every matrix of the block, in order: per layer wqkv (2 + 6l), wo (3 + 6l),
  // w13 (5 + 6l), w2 (6 + 6l), then the classifier (2 + 6L) for the logits.
  // Every block reads the same sections in the same order, so once the
  // block's commands are out the issuer walks on into the next block's and
  // requests them from the port alone (tp_matrix_unit KindPrefetch), as many
  // as its FIFO holds: the weights stream in while this block's tail (last
  // layer, classifier, argmax, the host's next command, the embedding) runs,
  // instead of the port idling there. The next block computes them with
  // KindFetched. LOAD (a new image may sit at the same address) drops them
  // (KindDrop); a configuration write needs a LOAD before the next block
  // (tp_sequencer), so no block ever computes beats of an old image. The
  // budget of FIFO beats keeps the walk from waiting on the next block: every
  // prefetched burst fits once this block's beats have left.
  typedef enum logic [2:0] {MiIdle, MiSec, MiWait, MiCmd, MiDrop} mi_e;
  localparam int unsigned PfSecW = LayerW + 3;   // up to 4 MaxLayers sections
  mi_e             mi_q;
  logic [LayerW:0] mi_layer_q;
  logic [1:0]      mi_kind_q;       // 0 wqkv, 1 wo, 2 w13, 3 w2
  logic            mi_cls_q;        // the classifier
  logic [AddrWidth-1:0] mi_addr_q;
  logic [19:0]     mi_beats_q;
  logic            mi_pf_q;         // walking the next block's sections (prefetch)
  logic            mi_start_q;      // a block waits for the issuer
  logic            mi_flush_q;      // LOAD: drop the prefetched sections first
  logic [PfSecW-1:0] pf_secs_q;     // sections requested for the next block
  logic [19:0]     pf_beats_q;      // ... and their beats
  logic [PfSecW-1:0] mi_fetched_q;  // sections of this block still to compute from a prefetch
  logic            mi_last_sec;     // the command in MiCmd is the walk's last
  logic            mi_pf_fits;      // the looked-up section fits the prefetch budget
  logic            mu_cmd_valid, mu_cmd_ready;
  logic [1:0]      mu_cmd_kind;
  logic [19:0]     mu_cmd_beats;
  logic [15:0]     mu_rows;
  logic [10:0]     mu_cols;
  logic [5:0]      mu_tokens;

  always_comb begin
    if (mi_cls_q) mi_sec = SecW'((32'(n_layers) << 2) + (32'(n_layers) << 1) + 2);
    else          mi_sec = SecW'((32'(mi_layer_q) << 2) + (32'(mi_layer_q) << 1) + (mi_kind_q == 2'd0 ? 2 : mi_kind_q == 2'd1 ? 3 :
                                                         mi_kind_q == 2'd2 ? 5 : 6));
  end

  // The walk ends after the last layer's w2 (prefetch), or after the
  // block's last matrix (the classifier with logits).
  assign mi_last_sec = mi_cls_q || (mi_kind_q == 2'd3 && mi_layer_q == n_layers - 1'b1 && (mi_pf_q || !logits_q));
  assign mi_pf_fits  = 32'(pf_beats_q) + 32'(sec_beats_i) <= MatrixFifoBeats;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      mi_q         <= MiIdle;
      mi_pf_q      <= 1'b0;
      mi_start_q   <= 1'b0;
      mi_flush_q   <= 1'b0;
      pf_secs_q    <= '0;
      pf_beats_q   <= '0;
      mi_fetched_q <= '0;
    end else begin
      if (uop_q == UopIdle && load_i) mi_flush_q <= 1'b1;
      else if (uop_q == UopIdle && start_i) mi_start_q <= 1'b1;
      unique case (mi_q)
        MiIdle: begin
          if (mi_flush_q) begin
            if (pf_secs_q != '0) mi_q <= MiDrop;
            else mi_flush_q <= 1'b0;
          end else if (mi_start_q) begin
            mi_start_q   <= 1'b0;
            mi_q         <= MiSec;
            mi_layer_q   <= '0;
            mi_kind_q    <= '0;
            mi_cls_q     <= 1'b0;
            mi_fetched_q <= pf_secs_q;
            pf_secs_q    <= '0;
            pf_beats_q   <= '0;
          end
        end
        MiSec:  mi_q <= MiWait;
        MiWait: begin
          mi_addr_q  <= sec_addr;
          mi_beats_q <= sec_beats_i;
          mi_q       <= MiCmd;
          if (mi_pf_q && (mi_start_q || mi_flush_q || !mi_pf_fits)) begin
            mi_pf_q <= 1'b0;
            mi_q    <= MiIdle;
          end
        end
        MiCmd: if (mu_cmd_ready) begin
          mi_q <= MiSec;
          if (mi_pf_q) begin
            pf_secs_q  <= pf_secs_q + 1'b1;
            pf_beats_q <= pf_beats_q + mi_beats_q;
          end else if (mi_fetched_q != '0) begin
            mi_fetched_q <= mi_fetched_q - 1'b1;
          end
          if (mi_last_sec) begin
            // The block's last command starts the walk over the next
            // block's sections; the walk's last ends it.
            mi_pf_q    <= ~mi_pf_q;
            mi_layer_q <= '0;
            mi_kind_q  <= '0;
            mi_cls_q   <= 1'b0;
            if (mi_pf_q) mi_q <= MiIdle;
          end else if (mi_kind_q == 2'd3) begin
            mi_kind_q  <= '0;
            mi_layer_q <= mi_layer_q + 1'b1;
            if (mi_layer_q == n_layers - 1'b1) mi_cls_q <= 1'b1;
          end else begin
            mi_kind_q <= mi_kind_q + 1'b1;
          end
        end
        MiDrop: if (mu_cmd_ready) begin
          mi_q       <= MiIdle;
          mi_flush_q <= 1'b0;
          pf_secs_q  <= '0;
          pf_beats_q <= '0;
        end
        default: mi_q <= MiIdle;
      endcase
    end
  end

  localparam logic [1:0] KindBoth = 2'd0, KindPrefetch = 2'd1, KindFetched = 2'd2, KindDrop = 2'd3;
  assign mu_cmd_valid = mi_q == MiCmd || mi_q == MiDrop;
  assign mu_cmd_beats = mi_q == MiDrop ? pf_beats_q : mi_beats_q;
  always_comb begin
    if (mi_q == MiDrop) mu_cmd_kind = KindDrop;
    else if (mi_pf_q) mu_cmd_kind = KindPrefetch;
    else if (mi_fetched_q != '0) mu_cmd_kind = KindFetched;
    else mu_cmd_kind = KindBoth;
  end
  always_comb begin
    mu_tokens = mi_cls_q ? 6'd1 : 6'(ntok_q);
    mu_cols   = 11'(cfg_dim_i);
    mu_rows   = cfg_dim_i;
    if (mi_cls_q) mu_rows = cfg_vocab_i;
    else begin
      unique case (mi_kind_q)
        2'd0: mu_rows = qkv_rows;
        2'd1: mu_rows = cfg_dim_i;
        2'd2: mu_rows = {cfg_hidden_dim_i[14:0], 1'b0};
        default: begin
          mu_rows = cfg_dim_i;
          mu_cols = 11'(cfg_hidden_dim_i);
        end
      endcase
    end
  end

  // LOAD owns the section port while it runs; the issuer otherwise.
  assign sec_index_o = uop_q == UopLoad ? ld_sec : mi_sec;

  // ================================================= reader ===
  // Streams words of one buffer through a 4-entry FIFO; each word carries a
  // tag. Modes by micro-op: vectors (a segment of `words` per token, from
  // token t_first), ROPE (q then k segment per token), KV (per KV head: its
  // k and v head of every token, then its query heads, per token); decode
  // with read-ahead (pf_ok_q) sends a KV head's query heads first, then its
  // k and v head, so the engine works on a head's segments while the next
  // heads are quantized and appended.
  typedef enum logic [1:0] {SrcX, SrcS, SrcA} src_e;
  // Tag of a word (a flat vector: Yosys drops struct arrays): last word of
  // a segment (vector, head), last word of the stream, the query head closes
  // its job, KV: 0 k / 1 v, a query head (to the attention engine), token,
  // KV head (k, v) or the head's word offset h * hs/8 (query), word within
  // the head, quarter of the gain word (NORM).
  localparam int unsigned TagLast = 0, TagFinal = 1, TagJobLast = 2, TagKind = 3, TagQ = 4, TagT = 5;
  localparam int unsigned TagHead = TagT + TokW, TagWord = TagHead + 7, TagGsel = TagWord + 3;
  localparam int unsigned TagW = TagGsel + 2;

  logic            rd_active_q, rd_pend_q;
  src_e            rd_src;
  logic [TokW-1:0] rd_t_q;
  logic [7:0]      rd_w_q;
  logic            rd_kind_q;
  logic [4:0]      rd_hh_q;     // query head within the group
  logic [4:0]      rd_kvh_q;    // KV head
  logic [6:0]      rd_hoff_q;   // hh * hs_w
  logic [7:0]      rd_goff_q;   // queries: kvh * grp_w
  logic [4:0]      rd_chunk_q;  // queries: tokens of the current job so far
  logic            rd_qph_q;    // KV: reading the KV head's query heads
  logic [6:0]      rd_kvoff_q;  // KV: kvh * hs_w
  logic [7:0]      rd_seg_len;
  logic [RAW-1:0]  rd_addr;
  logic            rd_issue, rd_seg_end, rd_stream_end;
  logic [TagW-1:0]            rd_tag, rd_tag_q;
  logic [TokW-1:0] rd_t_first;
  logic [7:0]      vec_words;

  logic            fifo_in_ready, fo_valid, fo_ready;
  logic [2:0]      fifo_count;
  logic [TagW-1:0]            fo_tag;
  logic [255:0]    fo_data;
  logic [127:0]    fo_gain;
  logic [26:0]     fo_scale;

  always_comb begin
    unique case (uop_q)
      UopNormAtt, UopNormFfn, UopNormFin: rd_src = SrcX;
      UopMatQkv, UopMatWo, UopMatW13, UopMatW2, UopMatCls: rd_src = SrcA;
      default:   rd_src = SrcS;   // RoPE, KV
    endcase
    unique case (uop_q)
      UopNormAtt, UopNormFfn, UopNormFin: vec_words = 8'(dim_w);
      UopMatW2:  vec_words = 8'(hid_groups);
      default:   vec_words = 8'(dim_groups);   // the other matrices take dim columns
    endcase
  end

  // The reader starts on the edge that enters its micro-op (one cycle earlier
  // than uop_start_q): the previous micro-op's last write happens on that edge.
  logic rd_start;
  assign rd_start   = uop_done && uop_next != UopEmbed && uop_next != UopLoad && uop_next != UopIdle;
  assign rd_t_first = uop_next == UopNormFin ? last_tok : '0;

  logic is_rope, is_kv;
  logic is_resid, is_qkv, is_gate, is_cls;   // matrix micro-ops (assigned with the output routing)
  logic           rs_re;      // residual read of X (MAT_WO, MAT_W2)
  logic [XAW-1:0] rs_raddr;
  logic [5:0] gain_vec;   // gain vector of the NORM micro-op
  assign is_rope = uop_q == UopRope;
  assign is_kv   = uop_q == UopKv;

  always_comb begin
    if (is_rope)              rd_seg_len = rd_kind_q ? 8'(kv_w) : 8'(dim_w);
    else if (is_kv)           rd_seg_len = 8'(hs_w);
    else                      rd_seg_len = vec_words;
  end

  // Address: token base + segment offset + word.
  always_comb begin
    rd_addr = '0;
    unique case (rd_src)
      SrcX:       rd_addr = (RAW'(rd_t_q) << XShift) + RAW'(rd_w_q);
      SrcA:       rd_addr = (RAW'(rd_t_q) << AShift) + RAW'(rd_w_q);
      default: begin
        rd_addr = (RAW'(rd_t_q) << SShift) + RAW'(rd_w_q);
        if (is_rope && rd_kind_q) rd_addr = rd_addr + RAW'(dim_w);
        if (is_kv && !rd_qph_q) rd_addr = rd_addr + RAW'(dim_w) + RAW'(rd_kvoff_q) + (rd_kind_q ? RAW'(kv_w) : '0);
        if (rd_qph_q) rd_addr = rd_addr + RAW'(rd_goff_q) + RAW'(rd_hoff_q);
      end
    endcase
  end

  logic att_job_last;
  assign rd_seg_end   = rd_w_q == rd_seg_len - 1'b1;
  assign att_job_last = rd_hh_q == kv_mul - 1'b1 &&
                        (rd_t_q == last_tok || rd_chunk_q == chunk - 1'b1);
  always_comb begin
    if (is_rope)     rd_stream_end = rd_t_q == last_tok && rd_kind_q;
    else if (is_kv)  rd_stream_end = rd_kvh_q == 5'(cfg_n_kv_heads_i - 1'b1) && rd_t_q == last_tok &&
                                     (pf_ok_q ? rd_kind_q && !rd_qph_q : rd_qph_q && rd_hh_q == kv_mul - 1'b1);
    else if (uop_q == UopMatCls) rd_stream_end = 1'b1;
    else             rd_stream_end = rd_t_q == last_tok;
    rd_stream_end = rd_stream_end && rd_seg_end;
  end

  assign rd_issue = rd_active_q && 32'(fifo_count) + 32'(rd_pend_q) < 32'd4;

  always_comb begin
    rd_tag          = '0;
    rd_tag[TagLast]     = rd_seg_end;
    rd_tag[TagFinal]  = rd_stream_end;
    rd_tag[TagJobLast] = att_job_last;
    rd_tag[TagKind]     = rd_kind_q;
    rd_tag[TagQ]        = rd_qph_q;
    rd_tag[TagT +: TokW]        = rd_t_q;
    rd_tag[TagHead +: 7]     = (is_kv && !rd_qph_q) ? {2'b00, rd_kvh_q} : 7'(rd_goff_q) + rd_hoff_q;
    rd_tag[TagWord +: 3]        = rd_w_q[2:0];
    rd_tag[TagGsel +: 2]     = rd_w_q[1:0];
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      rd_active_q <= 1'b0;
      rd_pend_q   <= 1'b0;
    end else begin
      rd_pend_q <= rd_issue;
      rd_tag_q  <= rd_tag;
      if (rd_start) begin
        rd_active_q <= 1'b1;
        rd_t_q      <= rd_t_first;
        rd_w_q      <= '0;
        rd_kind_q   <= 1'b0;
        rd_hh_q     <= '0;
        rd_kvh_q    <= '0;
        rd_hoff_q   <= '0;
        rd_goff_q   <= '0;
        rd_chunk_q  <= '0;
        rd_qph_q    <= uop_next == UopKv && pf_ok_q;
        rd_kvoff_q  <= '0;
      end else if (rd_issue) begin
        rd_w_q <= rd_w_q + 1'b1;
        if (rd_stream_end) rd_active_q <= 1'b0;
        if (rd_seg_end) begin
          rd_w_q <= '0;
          if (is_rope) begin
            rd_kind_q <= !rd_kind_q;
            if (rd_kind_q) rd_t_q <= rd_t_q + 1'b1;
          end else if (is_kv && pf_ok_q) begin
            // Per KV head: its kv_mul query heads, its k head, its v head.
            if (rd_qph_q) begin
              rd_hh_q   <= rd_hh_q + 1'b1;
              rd_hoff_q <= rd_hoff_q + 7'(hs_w);
              if (rd_hh_q == kv_mul - 1'b1) begin
                rd_hh_q   <= '0;
                rd_hoff_q <= '0;
                rd_qph_q  <= 1'b0;
              end
            end else if (!rd_kind_q) begin
              rd_kind_q <= 1'b1;
            end else begin
              rd_kind_q  <= 1'b0;
              rd_qph_q   <= 1'b1;
              rd_kvh_q   <= rd_kvh_q + 1'b1;
              rd_goff_q  <= rd_goff_q + grp_w;
              rd_kvoff_q <= rd_kvoff_q + 7'(hs_w);
            end
          end else if (is_kv && !rd_qph_q) begin
            // Per KV head: k and v of every token, then its queries.
            rd_kind_q <= !rd_kind_q;
            if (rd_kind_q) begin
              rd_t_q <= rd_t_q + 1'b1;
              if (rd_t_q == last_tok) begin
                rd_t_q   <= '0;
                rd_qph_q <= 1'b1;
              end
            end
          end else if (is_kv) begin
            // Queries: per token its kv_mul heads; jobs of `chunk` tokens.
            rd_hh_q   <= rd_hh_q + 1'b1;
            rd_hoff_q <= rd_hoff_q + 7'(hs_w);
            if (rd_hh_q == kv_mul - 1'b1) begin
              rd_hh_q    <= '0;
              rd_hoff_q  <= '0;
              rd_t_q     <= rd_t_q + 1'b1;
              rd_chunk_q <= att_job_last ? '0 : rd_chunk_q + 1'b1;
              if (rd_t_q == last_tok) begin
                rd_t_q     <= '0;
                rd_qph_q   <= 1'b0;
                rd_kvh_q   <= rd_kvh_q + 1'b1;
                rd_goff_q  <= rd_goff_q + grp_w;
                rd_kvoff_q <= rd_kvoff_q + 7'(hs_w);
              end
            end
          end else begin
            rd_t_q <= rd_t_q + 1'b1;
          end
        end
      end
    end
  end

  assign x_re    = (rd_issue && rd_src == SrcX) || rs_re;
  assign s_re    = (rd_issue && rd_src == SrcS) || (gq_issue && is_gate);   // MAT_W13 reads A, never S
  assign h_re    = gq_issue && is_kv;
  assign a_re    = rd_issue && rd_src == SrcA;
  assign g_re    = rd_issue && rd_src == SrcX;
  assign s_raddr = is_gate ? gq_raddr : rd_addr[SAW-1:0];
  assign h_raddr = gq_raddr[XAW-1:0];
  assign a_raddr = rd_addr[AAW-1:0];
  assign g_raddr = GAW'((32'(gain_vec) << GainShift) + 32'(rd_w_q[7:2]));

  assign gain_vec = uop_q == UopNormFin ? gain_vecs - 1'b1
                  : 6'({layer_q[LayerW-1:0], uop_q == UopNormFfn});

  // Residual reads of X (MAT_WO, MAT_W2) share the X read port: the reader
  // reads A then, never X.
  assign x_raddr = rs_re ? rs_raddr : rd_addr[XAW-1:0];

  logic [255:0] rd_word;
  logic [127:0] rd_gain;
  always_comb begin
    unique case (rd_src)
      SrcX:    rd_word = x_rdata;
      SrcA:    rd_word = a_rdata;
      default: rd_word = s_rdata;
    endcase
    rd_gain = g_rdata[rd_tag_q[TagGsel +: 2] * 128 +: 128];
  end

  localparam int unsigned FifoW = 256 + 128 + 27 + TagW;
  /* verilator lint_off UNUSEDSIGNAL */
  logic fifo_in_ready_unused;
  /* verilator lint_on UNUSEDSIGNAL */
  tp_fifo #(.Width(FifoW), .Depth(4)) u_read_fifo (
    .clk_i, .rst_ni,
    .in_valid_i(rd_pend_q), .in_ready_o(fifo_in_ready),
    .in_data_i({rd_word, rd_gain, as_rdata, rd_tag_q}),
    .out_valid_o(fo_valid), .out_ready_i(fo_ready),
    .out_data_o({fo_data, fo_gain, fo_scale, fo_tag}),
    .count_o(fifo_count));
  assign fifo_in_ready_unused = fifo_in_ready;  // credits keep it high when a word arrives

  // ================================================= embedding ===
  logic            em_req_valid, em_req_ready, em_out_valid, em_out_last, em_out_error, em_refused;
  logic [255:0]    em_out_data;
  logic [TokW:0]   em_req_t_q;     // rows requested
  logic [TokW-1:0] em_t_q;         // row being written
  logic [6:0]      em_w_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      em_req_t_q   <= '0;
      em_t_q       <= '0;
      em_w_q       <= '0;
    end else if (uop_start_q && uop_q == UopEmbed) begin
      em_req_t_q   <= '0;
      em_t_q       <= '0;
      em_w_q       <= '0;
    end else begin
      if (em_req_valid && em_req_ready) begin
        em_req_t_q <= em_req_t_q + 1'b1;
      end
      if (em_out_valid) begin
        em_w_q <= em_w_q + 1'b1;
        if (em_out_last) begin
          em_w_q <= '0;
          em_t_q <= em_t_q + 1'b1;
        end
      end
    end
  end

  // The block's rows are requested back to back: tp_embedding keeps several
  // in flight and answers in request order.
  assign em_req_valid = uop_q == UopEmbed && !uop_start_q && em_req_t_q < ntok_q;

  tp_embedding #(.Lanes(8), .MaxDim(MaxDim), .MaxVocab(MaxVocab), .AddrWidth(AddrWidth)) u_embedding (
    .clk_i, .rst_ni,
    .cfg_base_i(emb_base_q), .cfg_dim_i(DimW'(cfg_dim_i)),
    .cfg_vocab_i(VocabCntW'(cfg_vocab_i)), .cfg_int4_i,
    .req_valid_i(em_req_valid), .req_ready_o(em_req_ready),
    .req_token_i({17'd0, tok_mem[em_req_t_q[TokW-1:0]]}),
    .m_axi_arvalid_o(em_arvalid), .m_axi_arready_i(m_axi_e_arready_i & !aux_is_load),
    .m_axi_araddr_o(em_araddr), .m_axi_arlen_o(em_arlen), .m_axi_arsize_o(em_arsize),
    .m_axi_arburst_o(em_arburst),
    .m_axi_rvalid_i(m_axi_e_rvalid_i & !aux_is_load), .m_axi_rready_o(em_rready),
    .m_axi_rdata_i(m_axi_e_rdata_i), .m_axi_rlast_i(m_axi_e_rlast_i),
    .out_valid_o(em_out_valid), .out_ready_i(1'b1), .out_data_o(em_out_data),
    .out_last_o(em_out_last), .out_error_o(em_out_error), .err_refused_o(em_refused));

  logic embed_done;
  assign embed_done = uop_q == UopEmbed && em_out_valid && em_out_last && em_t_q == last_tok;

  // ================================================= RMSNorm and the quantizer ===
  // Outputs of the attention unit and tp_silu that feed tp_act_quant at
  // T = 1 (assigned with their units below).
  logic          au_out_valid, au_out_last;
  logic [255:0]  au_out_data;
  logic [15:0]   jobs_done_q;      // attention jobs whose last output left
  logic          sg_out_valid;
  logic [255:0]  sg_out_data;
  logic          sg_sent_last_q;   // the command's last half entered tp_silu
  logic [15:0]   sg_in_cnt_q, sg_out_cnt_q;

  logic         rn_in_valid, rn_in_ready, rn_val_valid, rn_val_last, rn_scale_valid, rn_scale_last;
  logic [63:0]  rn_val_q;
  logic [10:0]  rn_scale_m;
  logic [15:0]  rn_scale_e;
  logic         is_norm;
  assign is_norm     = uop_q == UopNormAtt || uop_q == UopNormFfn || uop_q == UopNormFin;
  assign rn_in_valid = is_norm && fo_valid;

  /* verilator lint_off PINCONNECTEMPTY */
  tp_rmsnorm #(.Lanes(8), .MaxDim(MaxDim)) u_rmsnorm (
    .clk_i, .rst_ni,
    .cfg_dim_i(DimW'(cfg_dim_i)),
    .cfg_inv_dim_mantissa_i(cfg_inv_dim_m_i), .cfg_inv_dim_exponent_i(cfg_inv_dim_e_i),
    .cfg_gain_exponent_i(gain_exp_q[gain_vec]),
    .in_valid_i(rn_in_valid), .in_ready_o(rn_in_ready), .in_x_i(fo_data), .in_gain_i(fo_gain),
    .val_valid_o(rn_val_valid), .val_ready_i(1'b1), .val_q_o(rn_val_q), .val_last_o(rn_val_last),
    .scale_valid_o(rn_scale_valid), .scale_ready_i(1'b1),
    .scale_mantissa_o(rn_scale_m), .scale_exponent_o(rn_scale_e), .scale_last_o(rn_scale_last));
  /* verilator lint_on PINCONNECTEMPTY */

  logic         aq_in_valid, aq_in_ready, aq_val_valid, aq_val_last, aq_scale_valid, aq_scale_last;
  logic [63:0]  aq_val_q;
  logic [10:0]  aq_scale_m;
  logic [15:0]  aq_scale_e;
  logic         is_quant;      // tp_act_quant feeds the A writer
  logic         gq_word_valid, gq_word_last;   // the group feeder's words (below)
  logic         gq_in_ready;                   // its queue has room
  logic         sg_word_ends_group;            // the SiLU word completes a group
  logic         h_word_ends_vector;            // the attention beat completes a token
  logic [255:0] gq_word;
  logic         aq_from_att, aq_from_silu, aq_from_groups;
  logic         a_group_major;   // the A writer takes groups with the tokens taking turns
  logic [255:0] aq_in_z;
  logic         aq_in_last;
  /* verilator lint_off UNUSEDSIGNAL */
  logic         aq_factor_ready;
  /* verilator lint_on UNUSEDSIGNAL */
  assign is_quant    = is_kv || is_gate;
  // At T = 1 the attention outputs (head order) and the SiLU outputs
  // (element order) enter directly. A prefill block's come out of order
  // (attention per KV head, SiLU per row group, its tokens taking turns):
  // the group feeder (below) reads each token's vector back from H, or
  // each group of the gated vector from S, as it completes.
  assign aq_from_att  = is_kv && stream_q;
  assign aq_from_silu = is_gate && stream_q;
  assign aq_from_groups = is_quant && !stream_q;
  assign a_group_major  = is_gate && !stream_q;
  always_comb begin
    aq_in_valid = 1'b0;
    aq_in_z     = gq_word;
    aq_in_last  = gq_word_last;
    if (aq_from_att) begin
      aq_in_valid = au_out_valid;
      aq_in_z     = au_out_data;
      aq_in_last  = au_out_last && 32'(jobs_done_q) + 1 == 32'(cfg_n_kv_heads_i);
    end else if (aq_from_silu) begin
      aq_in_valid = sg_out_valid;
      aq_in_z     = sg_out_data;
      aq_in_last  = sg_sent_last_q && sg_out_cnt_q + 1'b1 == sg_in_cnt_q;
    end else if (aq_from_groups) begin
      aq_in_valid = gq_word_valid;
    end
  end

  // Factor 1.0 = 1024 * 2^-10: the requantizer of tp::fx::quantize_q16.
  tp_act_quant #(.Lanes(8), .ZWidth(32), .FracBits(16), .MaxGroups(AStride)) u_act_quant (
    .clk_i, .rst_ni,
    .in_valid_i(aq_in_valid), .in_ready_o(aq_in_ready), .in_z_i(aq_in_z), .in_last_i(aq_in_last),
    .factor_valid_i(1'b1), .factor_ready_o(aq_factor_ready),
    .factor_mantissa_i(11'd1024), .factor_exponent_i(-16'sd10),
    .val_valid_o(aq_val_valid), .val_ready_i(1'b1), .val_q_o(aq_val_q), .val_last_o(aq_val_last),
    .scale_valid_o(aq_scale_valid), .scale_ready_i(1'b1),
    .scale_mantissa_o(aq_scale_m), .scale_exponent_o(aq_scale_e), .scale_last_o(aq_scale_last));

  // A writer: 4 value beats make a group word; scales follow on their own.
  // Vectors come token by token, or, from MAT_W13's group feeder, group by
  // group with the block's tokens taking turns (one group a vector).
  logic           aw_val_valid, aw_val_last, aw_scale_valid, aw_scale_last;
  logic [63:0]    aw_val;
  logic [26:0]    aw_scale;
  logic [191:0]   aw_pack_q;
  logic [1:0]     aw_sub_q;

  assign aw_val_valid   = is_norm ? rn_val_valid : aq_val_valid;
  assign aw_val_last    = is_norm ? rn_val_last : aq_val_last;
  assign aw_val         = is_norm ? rn_val_q : aq_val_q;
  assign aw_scale_valid = is_norm ? rn_scale_valid : aq_scale_valid;
  assign aw_scale_last  = is_norm ? rn_scale_last : aq_scale_last;
  assign aw_scale       = is_norm ? {rn_scale_e, rn_scale_m} : {aq_scale_e, aq_scale_m};

  always_ff @(posedge clk_i) begin
    if (!rst_ni || uop_start_q) begin
      aw_sub_q <= '0;
    end else if (aw_val_valid) begin
      aw_sub_q  <= aw_sub_q + 1'b1;
      aw_pack_q <= {aw_val, aw_pack_q[191:64]};
    end
  end

  // Where the next group word (place 0) and the next scale (place 1) go:
  // token t, group g, and the vectors whose last one is written (flat
  // vectors of both places: Yosys takes no packed arrays of vectors).
  localparam int unsigned VecW = TokW + 1;
  logic [1:0]          place_step, place_last;
  logic [2*TokW-1:0]   place_t;
  logic [11:0]         place_g;
  logic [2*VecW-1:0]   place_vectors;
  assign place_step = {aw_scale_valid, aw_val_valid && aw_sub_q == 2'd3};
  assign place_last = {aw_scale_last, aw_val_last};
  for (genvar p = 0; p < 2; p++) begin : gen_place
    logic [TokW-1:0] t_q;
    logic [5:0]      g_q;
    logic [TokW:0]   vectors_q;
    always_ff @(posedge clk_i) begin
      if (!rst_ni || uop_start_q) begin
        t_q       <= '0;
        g_q       <= '0;
        vectors_q <= '0;
      end else if (place_step[p]) begin
        if (a_group_major) begin
          t_q <= t_q + 1'b1;
          if (t_q == last_tok) begin
            t_q <= '0;
            g_q <= g_q + 1'b1;
          end
          if (g_q == hid_groups - 1'b1) vectors_q <= vectors_q + 1'b1;
        end else begin
          g_q <= g_q + 1'b1;
          if (place_last[p]) begin
            g_q       <= '0;
            t_q       <= t_q + 1'b1;
            vectors_q <= vectors_q + 1'b1;
          end
        end
      end
    end
    assign place_t[p*TokW +: TokW]       = t_q;
    assign place_g[p*6 +: 6]             = g_q;
    assign place_vectors[p*VecW +: VecW] = vectors_q;
  end

  assign a_we     = (is_norm || is_quant) && aw_val_valid && aw_sub_q == 2'd3;
  assign a_waddr  = AAW'((RAW'(place_t[0 +: TokW]) << AShift) + RAW'(place_g[0 +: 6]));
  assign a_wdata  = {aw_val, aw_pack_q};
  assign as_we    = (is_norm || is_quant) && aw_scale_valid;
  assign as_waddr = AAW'((RAW'(place_t[TokW +: TokW]) << AShift) + RAW'(place_g[6 +: 6]));
  assign as_wdata = aw_scale;

  // Done once every value and every scale is written (tp_act_quant's scales
  // leave before the values of their group, tp_rmsnorm's after the vector).
  logic          a_writer_done;
  logic [TokW:0] a_vectors;
  assign a_vectors     = uop_q == UopNormFin ? OneTok : ntok_q;
  assign a_writer_done = (is_norm || is_quant) && !uop_start_q &&
                         place_vectors[0 +: VecW] == a_vectors && place_vectors[VecW +: VecW] == a_vectors;

  // ================================================= head quantizer ===
  // Heads are assembled from hs/8 words; the quantizer's sideband carries the
  // tag of the head's last word.
  logic [2047:0] hd_data_q;
  logic          hd_valid_q, hd_ready;
  logic [TagW-1:0]          hd_tag_q;
  logic          hq_out_valid, hq_out_ready, hq_out_err, hq_err_cfg;
  logic [511:0]  hq_out_q;
  logic [10:0]   hq_scale_m;
  logic [7:0]    hq_scale_e;
  logic [15:0]   hq_scale_code;
  logic [TagW-1:0]          hq_tag;
  logic          is_head;
  assign is_head = is_kv;

  always_ff @(posedge clk_i) begin
    if (!rst_ni || uop_start_q) begin
      hd_valid_q <= 1'b0;
    end else begin
      if (hd_valid_q && hd_ready) hd_valid_q <= 1'b0;
      if (is_head && fo_valid && fo_ready) begin
        hd_data_q[fo_tag[TagWord +: 3] * 256 +: 256] <= fo_data;
        hd_tag_q                         <= fo_tag;
        if (fo_tag[TagLast]) hd_valid_q <= 1'b1;
      end
    end
  end

  tp_head_quant #(.DivLanes(16), .UserWidth(TagW)) u_head_quant (
    .clk_i, .rst_ni,
    .cfg_head_size_i(7'(cfg_head_size_i)), .err_cfg_o(hq_err_cfg),
    .in_valid_i(hd_valid_q), .in_ready_o(hd_ready), .in_data_i(hd_data_q), .in_user_i(hd_tag_q),
    .out_valid_o(hq_out_valid), .out_ready_i(hq_out_ready), .out_q_o(hq_out_q),
    .out_scale_m_o(hq_scale_m), .out_scale_e_o(hq_scale_e), .out_scale_code_o(hq_scale_code),
    .out_user_o(hq_tag), .out_err_o(hq_out_err));

  // ================================================= attention unit ===
  logic          au_wr_valid, au_wr_ready, au_rsp_valid;
  logic [1:0]    au_rsp_status;
  logic          au_rd_valid, au_rd_ready, au_q_valid, au_q_ready, au_out_ready;
  logic [3:0]    au_out_slot;
  logic [4:0]    au_err;
  logic          au_cfg_ok;
  logic [31:0]   au_rd_refused, au_wr_refused, au_wr_resp, au_rd_resp;
  logic [511:0]  kv_k_row_q;
  logic [15:0]   kv_k_code_q;
  logic          kv_k_held_q;
  logic [TokW:0] kv_head_sent_q;  // appends of the KV head being appended
  logic [4:0]    kv_heads_sent_q; // KV heads whose appends the port has all taken
  logic [PosW-1:0] kv_pos;

  // KV: hold the k head; its v head completes the append command. While
  // reading ahead, a KV head's append waits until its segment reads (the
  // fwd one last) are in the port: the memory may take the reads slower than
  // the appends come, and a fwd read must precede its append.
  logic kv_head_read;   // (assigned with the segment reads below)
  logic ar_start;       // the segment reads start (below)
  assign kv_pos       = PosW'(pos0_q + 16'(hq_tag[TagT +: TokW]));
  assign au_wr_valid  = is_kv && hq_out_valid && !hq_tag[TagQ] && hq_tag[TagKind] && kv_k_held_q && kv_head_read;
  assign hq_out_ready = hq_tag[TagQ] ? au_q_ready
                                     : (hq_tag[TagKind] ? au_wr_valid && au_wr_ready : !kv_k_held_q);
  assign au_q_valid   = is_kv && hq_out_valid && hq_tag[TagQ];

  always_ff @(posedge clk_i) begin
    if (!rst_ni || uop_start_q) begin
      kv_k_held_q <= 1'b0;
    end else begin
      if (is_kv && hq_out_valid && !hq_tag[TagQ] && !hq_tag[TagKind] && !kv_k_held_q) begin
        kv_k_row_q  <= hq_out_q;
        kv_k_code_q <= hq_scale_code;
        kv_k_held_q <= 1'b1;
      end
      if (au_wr_valid && au_wr_ready) kv_k_held_q <= 1'b0;
    end
  end

  // Appends counted per KV head (from the edge the segment reads start:
  // their issue waits on these counts).
  always_ff @(posedge clk_i) begin
    if (!rst_ni || ar_start) begin
      kv_head_sent_q  <= '0;
      kv_heads_sent_q <= '0;
    end else if (au_wr_valid && au_wr_ready) begin
      kv_head_sent_q <= kv_head_sent_q + 1'b1;
      if (kv_head_sent_q + 1'b1 == ntok_q) begin
        kv_head_sent_q  <= '0;
        kv_heads_sent_q <= kv_heads_sent_q + 1'b1;
      end
    end
  end

  // Attention: segment reads, one job per (KV head, chunk of tokens). Decode reads
  // the layer's segments ahead, from the start of NORM_ATT, while q, k and v
  // are computed: each job's last segment (the page of the new position) is
  // read with fwd, and the KV port patches the token's append into it
  // (tp_kv_port, "Forwarding"), so attention starts as soon as its queries
  // are quantized. Only while the port can hold every segment of the layer
  // (its read command FIFO and data FIFO: tp_kv_port defaults); otherwise
  // reads start with KV, each KV head's after its appends.
  localparam int unsigned PrefetchCmds  = 64;
  localparam int unsigned PrefetchBeats = 512;
  localparam int unsigned PfCmdW = LPageW + 6;
  logic [LPageW:0]   pf_pages;      // pages of the decode position: pos / 16 + 1
  logic [PfCmdW-1:0] pf_cmds;       // segments of the layer: n_kv_heads x pages
  logic [PfCmdW+5:0] pf_beats;      // x (1 + pitch / 2)
  logic [2:0]        pf_half_pitch; // log2(pitch / 2)
  logic              ar_fwd_q;

  assign pf_pages      = {1'b0, pos0_q[$clog2(PageSize) +: LPageW]} + 1'b1;
  assign pf_half_pitch = hs_w == 4'd1 ? 3'd2 : hs_w == 4'd2 ? 3'd3 : hs_w <= 4'd4 ? 3'd4 : 3'd5;
  always_comb begin
    pf_cmds = '0;
    for (int b = 0; b < 5; b++) begin
      if (cfg_n_kv_heads_i[b]) pf_cmds = pf_cmds + (PfCmdW'(pf_pages) << b);
    end
  end
  assign pf_beats = (PfCmdW + 6)'(pf_cmds) + ((PfCmdW + 6)'(pf_cmds) << pf_half_pitch);
  always_ff @(posedge clk_i) begin
    pf_ok_q <= stream_q && 32'(pf_cmds) <= PrefetchCmds && 32'(pf_beats) <= PrefetchBeats;
  end

  assign ar_start = uop_done && uop_next == (pf_ok_q ? UopNormAtt : UopKv);

  logic            ar_active_q;
  logic [4:0]      ar_kvh_q;
  logic [TokW-1:0] ar_t0_q;
  logic [LPageW:0] ar_page_q;
  logic [TokW-1:0] ar_t1;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [15:0]     ar_last_pos;   // only its page bits matter
  /* verilator lint_on UNUSEDSIGNAL */
  logic [LPageW-1:0] ar_last_page;
  logic            ar_job_end;

  always_comb begin
    ar_t1 = last_tok;
    if (32'(ar_t0_q) + 32'(chunk) - 1 < 32'(last_tok)) ar_t1 = TokW'(32'(ar_t0_q) + 32'(chunk) - 1);
  end
  assign ar_last_pos  = pos0_q + 16'(ar_t1);
  assign ar_last_page = ar_last_pos[$clog2(PageSize) +: LPageW];
  assign ar_job_end   = ar_page_q[LPageW-1:0] == ar_last_page;
  // Without read-ahead a KV head's segments are read after its appends:
  // the port starts a read only once the writes taken before it are done.
  assign au_rd_valid  = ar_active_q && (ar_fwd_q || ar_kvh_q < kv_heads_sent_q);
  assign kv_head_read = !ar_active_q || !ar_fwd_q || 5'(hq_tag[TagHead +: 5]) < ar_kvh_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      ar_active_q <= 1'b0;
    end else if (ar_start) begin
      ar_active_q <= 1'b1;
      ar_fwd_q    <= pf_ok_q;
      ar_kvh_q    <= '0;
      ar_t0_q     <= '0;
      ar_page_q   <= '0;
    end else if (au_rd_valid && au_rd_ready) begin
      ar_page_q <= ar_page_q + 1'b1;
      if (ar_job_end) begin
        ar_page_q <= '0;
        ar_t0_q   <= TokW'(32'(ar_t1) + 1);
        if (ar_t1 == last_tok) begin
          ar_t0_q  <= '0;
          ar_kvh_q <= ar_kvh_q + 1'b1;
          if (ar_kvh_q == 5'(cfg_n_kv_heads_i - 1'b1)) ar_active_q <= 1'b0;
        end
      end
    end
  end

  // Slots of each resident job: which token and head an output belongs to.
  logic [TokW+6:0] slot_q [2][16];
  logic            q_par_q, o_par_q;
  logic [SlotW-1:0] q_slot_q;
  logic [2:0]      o_beat_q;
  logic [TokW+6:0] o_slot;
  always_ff @(posedge clk_i) begin
    if (!rst_ni || uop_start_q) begin
      q_par_q     <= 1'b0;
      o_par_q     <= 1'b0;
      q_slot_q    <= '0;
      o_beat_q    <= '0;
      jobs_done_q <= '0;
    end else begin
      if (au_q_valid && au_q_ready) begin
        slot_q[q_par_q][q_slot_q] <= {hq_tag[TagT +: TokW], hq_tag[TagHead +: 7]};
        q_slot_q <= q_slot_q + 1'b1;
        if (hq_tag[TagJobLast]) begin
          q_slot_q <= '0;
          q_par_q  <= !q_par_q;
        end
      end
      if (au_out_valid && au_out_ready) begin
        o_beat_q <= o_beat_q + 1'b1;
        if (o_beat_q == 3'(hs_w - 1'b1)) o_beat_q <= '0;
        if (au_out_last) begin
          o_par_q     <= !o_par_q;
          jobs_done_q <= jobs_done_q + 1'b1;
        end
      end
    end
  end
  assign o_slot       = slot_q[o_par_q][au_out_slot];
  // (In prefill only the beat that completes a token waits for the feeder.)
  assign au_out_ready = aq_from_att ? aq_in_ready : !(aq_from_groups && h_word_ends_vector) || gq_in_ready;
  assign h_we    = is_kv && au_out_valid && au_out_ready;
  assign h_waddr = XAW'((RAW'(o_slot[TokW+6:7]) << XShift) + RAW'(o_slot[6:0]) + RAW'(o_beat_q));
  assign h_wdata = au_out_data;


  /* verilator lint_off PINCONNECTEMPTY */
  tp_attention_unit #(.AddrWidth(AddrWidth), .NumPages(NumPages), .MaxSlots(16), .MaxSeqLen(MaxSeqLen)) u_attention (
    .clk_i, .rst_ni,
    .cfg_kv_base_i(AddrWidth'({cfg_kv_base_i, 6'd0})),
    .cfg_n_layers_i(NLayersW'(cfg_n_layers_i)),
    .cfg_n_kv_heads_i(NKvW'(cfg_n_kv_heads_i)),
    .cfg_head_size_i(7'(cfg_head_size_i)),
    .cfg_score_scale_m_i, .cfg_score_scale_e_i,
    .cfg_ok_o(au_cfg_ok),
    .wr_cmd_valid_i(au_wr_valid), .wr_cmd_ready_o(au_wr_ready),
    .wr_cmd_page_i(APageW'(page_mem[{seq_q, kv_pos[$clog2(PageSize) +: LPageW]}])),
    .wr_cmd_slot_i(5'(kv_pos[$clog2(PageSize)-1:0])),
    .wr_cmd_layer_i(LayerW'(layer_q)), .wr_cmd_kv_head_i(HeadW'(hq_tag[TagHead +: 7])),
    .wr_cmd_k_row_i(kv_k_row_q), .wr_cmd_v_row_i(hq_out_q),
    .wr_cmd_k_scale_i(kv_k_code_q), .wr_cmd_v_scale_i(hq_scale_code),
    .wr_rsp_valid_o(au_rsp_valid), .wr_rsp_ready_i(1'b1), .wr_rsp_status_o(au_rsp_status),
    .rd_cmd_valid_i(au_rd_valid), .rd_cmd_ready_o(au_rd_ready),
    .rd_cmd_page_i(APageW'(page_mem[{seq_q, ar_page_q[LPageW-1:0]}])),
    .rd_cmd_layer_i(LayerW'(layer_q)), .rd_cmd_kv_head_i(HeadW'(ar_kvh_q)), .rd_cmd_last_i(ar_job_end),
    .rd_cmd_fwd_i(ar_fwd_q && ar_job_end),
    .q_valid_i(au_q_valid), .q_ready_o(au_q_ready), .q_data_i(hq_out_q),
    .q_scale_m_i(hq_scale_m), .q_scale_e_i(hq_scale_e),
    .q_pos_i(PosW'(pos0_q + 16'(hq_tag[TagT +: TokW]))), .q_last_i(hq_tag[TagJobLast]),
    .out_valid_o(au_out_valid), .out_ready_i(au_out_ready), .out_data_o(au_out_data),
    .out_slot_o(au_out_slot), .out_last_o(au_out_last),
    .m_axi_arvalid_o(m_axi_kv_arvalid_o), .m_axi_arready_i(m_axi_kv_arready_i),
    .m_axi_araddr_o(m_axi_kv_araddr_o), .m_axi_arlen_o(m_axi_kv_arlen_o),
    .m_axi_arsize_o(m_axi_kv_arsize_o), .m_axi_arburst_o(m_axi_kv_arburst_o),
    .m_axi_rvalid_i(m_axi_kv_rvalid_i), .m_axi_rready_o(m_axi_kv_rready_o),
    .m_axi_rdata_i(m_axi_kv_rdata_i), .m_axi_rresp_i(m_axi_kv_rresp_i), .m_axi_rlast_i(m_axi_kv_rlast_i),
    .m_axi_awvalid_o(m_axi_kv_awvalid_o), .m_axi_awready_i(m_axi_kv_awready_i),
    .m_axi_awaddr_o(m_axi_kv_awaddr_o), .m_axi_awlen_o(m_axi_kv_awlen_o),
    .m_axi_awsize_o(m_axi_kv_awsize_o), .m_axi_awburst_o(m_axi_kv_awburst_o),
    .m_axi_wvalid_o(m_axi_kv_wvalid_o), .m_axi_wready_i(m_axi_kv_wready_i),
    .m_axi_wdata_o(m_axi_kv_wdata_o), .m_axi_wstrb_o(m_axi_kv_wstrb_o), .m_axi_wlast_o(m_axi_kv_wlast_o),
    .m_axi_bvalid_i(m_axi_kv_bvalid_i), .m_axi_bready_o(m_axi_kv_bready_o), .m_axi_bresp_i(m_axi_kv_bresp_i),
    .err_o(au_err), .busy_o(),
    .perf_engine_busy_o(perf_att_busy_o), .perf_kv_wait_o(),
    .perf_rd_beats_o(perf_kv_rd_beats_o), .perf_rd_busy_o(perf_kv_busy_o),
    .perf_wr_beats_o(perf_kv_wr_beats_o),
    .err_rd_refused_o(au_rd_refused), .err_wr_refused_o(au_wr_refused),
    .err_wr_resp_o(au_wr_resp), .err_rd_resp_o(au_rd_resp));
  /* verilator lint_on PINCONNECTEMPTY */

  // ================================================= matrix unit ===
  logic          mu_act_valid, mu_act_ready, mu_out_valid, mu_out_ready, mu_out_last;
  logic [1023:0] mu_out_data;
  logic [5:0]    mu_out_rows;
  logic [4:0]    mu_out_token;
  logic          mu_err_cmd, mu_err_last, mu_err_act;
  logic          is_mat;
  assign is_mat       = uop_q == UopMatQkv || uop_q == UopMatWo || uop_q == UopMatW13 ||
                        uop_q == UopMatW2 || uop_q == UopMatCls;
  assign mu_act_valid = is_mat && fo_valid;

  /* verilator lint_off PINCONNECTEMPTY */
  tp_matrix_unit #(
    .Rows(MatrixRows), .Cols(MatrixCols), .AddrWidth(AddrWidth), .LoadBeats(MatrixLoadBeats),
    .FifoBeats(MatrixFifoBeats)
  ) u_matrix (
    .clk_i, .rst_ni,
    .cmd_valid_i(mu_cmd_valid), .cmd_ready_o(mu_cmd_ready),
    .cmd_addr_i(mi_addr_q), .cmd_beats_i(mu_cmd_beats), .cmd_rows_i(mu_rows), .cmd_cols_i(mu_cols),
    .cmd_tokens_i(mu_tokens), .cmd_int4_i(cfg_int4_i), .cmd_kind_i(mu_cmd_kind),
    .act_valid_i(mu_act_valid), .act_ready_o(mu_act_ready), .act_q_i(fo_data),
    .act_mant_i(fo_scale[10:0]), .act_exp_i(fo_scale[26:11]), .act_last_i(fo_tag[TagFinal]),
    .m_axi_arvalid_o(m_axi_w_arvalid_o), .m_axi_arready_i(m_axi_w_arready_i),
    .m_axi_araddr_o(m_axi_w_araddr_o), .m_axi_arlen_o(m_axi_w_arlen_o),
    .m_axi_arsize_o(m_axi_w_arsize_o), .m_axi_arburst_o(m_axi_w_arburst_o),
    .m_axi_rvalid_i(m_axi_w_rvalid_i), .m_axi_rready_o(m_axi_w_rready_o),
    .m_axi_rdata_i(m_axi_w_rdata_i), .m_axi_rlast_i(m_axi_w_rlast_i),
    .out_valid_o(mu_out_valid), .out_ready_i(mu_out_ready), .out_data_o(mu_out_data),
    .out_rows_o(mu_out_rows), .out_token_o(mu_out_token), .out_last_o(mu_out_last),
    .err_bad_cmd_o(mu_err_cmd), .err_weight_last_o(mu_err_last), .err_act_count_o(mu_err_act),
    .perf_busy_o(perf_mat_busy_o), .perf_weight_wait_o(), .perf_act_wait_o(), .perf_out_stall_o(),
    .perf_issue_o(perf_mat_issue_o), .perf_port_mem_wait_o());
  /* verilator lint_on PINCONNECTEMPTY */

  // Output routing. Beats come per row group g, per token t (t fastest);
  // a beat is 4 words of 8 lanes (word g*4 + k of the vector).
  logic [1:0]      mo_k_q;
  logic [9:0]      mo_g_q;        // row group (of 32 rows; the classifier's up to MaxVocab / 32)
  logic [255:0]    mo_word;
  logic [11:0]     mo_word_idx;   // g*4 + k
  logic            mo_beat_done;  // the beat leaves at this edge
  logic            mo_qk_word;    // MAT_QKV: the word is part of q or k
  logic            mo_qkv_go;     // MAT_QKV: the word leaves (into S or into the rope)
  assign is_qkv   = uop_q == UopMatQkv;
  assign is_resid = uop_q == UopMatWo || uop_q == UopMatW2;
  assign is_gate  = uop_q == UopMatW13;
  assign is_cls   = uop_q == UopMatCls;
  assign mo_word     = mu_out_data[mo_k_q * 256 +: 256];
  assign mo_word_idx = {mo_g_q, mo_k_q};

  // Residual: words past dim are skipped (dim need not be a multiple of 32).
  logic mo_resid_last_word;
  assign mo_resid_last_word = mo_k_q == 2'd3 || 7'(mo_word_idx + 1'b1) >= dim_w;

  logic          sg_in_ready, sg_out_ready;
  logic          am_in_ready, am_out_valid;
  always_comb begin
    mo_beat_done = 1'b0;
    mu_out_ready = 1'b0;
    if (is_qkv)        mu_out_ready = mo_k_q == 2'd3 && mo_qkv_go;
    else if (is_resid) mu_out_ready = mo_resid_last_word;
    else if (is_gate)  mu_out_ready = mo_k_q[0] && sg_in_ready;
    else if (is_cls)   mu_out_ready = am_in_ready;
    mo_beat_done = mu_out_valid && mu_out_ready;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni || uop_start_q) begin
      mo_k_q <= '0;
      mo_g_q <= '0;
    end else if (is_cls) begin
      if (mo_beat_done) mo_g_q <= mo_g_q + 1'b1;
    end else if (mu_out_valid && ((is_qkv && mo_qkv_go) || is_resid || (is_gate && sg_in_ready))) begin
      mo_k_q <= mo_k_q + 1'b1;
      if (mo_beat_done) begin
        mo_k_q <= '0;
        if (32'(mu_out_token) == 32'(ntok_q) - 1) mo_g_q <= mo_g_q + 1'b1;
      end
    end
  end

  // QKV: straight into S.
  logic [SAW-1:0] mo_s_addr;
  assign mo_s_addr = SAW'((RAW'(mu_out_token[TokW-1:0]) << SShift) + RAW'(mo_word_idx));
  assign mo_qk_word = 9'(mo_word_idx) < 9'(dim_w) + 9'(kv_w);

  // ================================================= RoPE ===
  // Folded into MAT_QKV (rope_fold): the q and k words of the matrix output
  // pass through tp_rope on their way into S, one head a vector (its position
  // sampled with its first word); the v words go straight in and win the S
  // write port (the rope's output waits, which never stalls the matrix
  // output: one word leaves it a cycle). Heads must not cross the token
  // interleave of the output (row groups of 4 words): any head size at
  // T = 1, head size 8, 16 or 32 otherwise; else the ROPE micro-op reads q
  // and k back from S.
  logic         rp_in_valid, rp_in_ready, rp_out_valid, rp_out_ready, rp_out_last;
  logic [255:0] rp_in_data, rp_out_data;
  logic [15:0]  rp_in_pos;
  logic         rp_in_last;
  logic [SAW-1:0] rp_waddr_q;      // words written back, in read order
  logic [TokW-1:0] rp_t_q;
  logic [7:0]   rp_w_q;
  logic         rp_kind_q;
  logic         rq_in, rq_out;     // fold: a q/k word enters the rope / its rotated word goes to S
  logic         qkv_direct;        // MAT_QKV writes the matrix word itself (v, or all without the fold)
  logic [3:0]   rq_head_w_q;       // fold: word of the head entering the rope
  logic [SAW-1:0] rq_addr;
  logic [5:0]   rq_count;
  assign rope_fold  = stream_q || hs_w == 4'd1 || hs_w == 4'd2 || hs_w == 4'd4;
  always_comb begin
    if (is_rope) begin
      rp_in_valid  = fo_valid;
      rp_in_data   = fo_data;
      rp_in_pos    = pos0_q + 16'(fo_tag[TagT +: TokW]);
      rp_in_last   = fo_tag[TagLast];
      rp_out_ready = 1'b1;
    end else begin
      rp_in_valid  = is_qkv && rope_fold && mu_out_valid && mo_qk_word;
      rp_in_data   = mo_word;
      rp_in_pos    = pos0_q + 16'(mu_out_token);
      rp_in_last   = rq_head_w_q == hs_w - 1'b1;
      rp_out_ready = !qkv_direct;
    end
  end
  assign rq_in      = is_qkv && rp_in_valid && rp_in_ready;
  assign rq_out     = is_qkv && rp_out_valid && rp_out_ready;
  assign qkv_direct = is_qkv && mu_out_valid && !(rope_fold && mo_qk_word);
  assign mo_qkv_go  = qkv_direct || rq_in;

  // MAT_QKV ends with the last word written: the matrix unit's last beat has
  // left and the rope holds no word after this edge.
  logic qkv_sent_last_q, qkv_done;
  always_ff @(posedge clk_i) begin
    if (!rst_ni || uop_start_q) qkv_sent_last_q <= 1'b0;
    else if (is_qkv && mo_beat_done && mu_out_last) qkv_sent_last_q <= 1'b1;
  end
  assign qkv_done = is_qkv && (qkv_sent_last_q || (mo_beat_done && mu_out_last)) &&
                    32'(rq_count) + 32'(rq_in) - 32'(rq_out) == 0;

  tp_rope #(.PairLanes(4)) u_rope (
    .clk_i, .rst_ni,
    .cfg_head_size_i(8'(cfg_head_size_i)),
    .cfg_step_we_i(rope_we_i), .cfg_step_addr_i(rope_addr_i), .cfg_step_data_i(rope_data_i),
    .in_valid_i(rp_in_valid), .in_ready_o(rp_in_ready), .in_data_i(rp_in_data),
    .in_pos_i({16'd0, rp_in_pos}), .in_last_i(rp_in_last),
    .out_valid_o(rp_out_valid), .out_ready_i(rp_out_ready), .out_data_o(rp_out_data),
    .out_last_o(rp_out_last));

  // Fold: the S address of every word in the rope, in order (it holds at
  // most its 15 pipeline stages).
  /* verilator lint_off UNUSEDSIGNAL */
  logic rq_addr_unused;
  /* verilator lint_on UNUSEDSIGNAL */
  /* verilator lint_off PINCONNECTEMPTY */
  tp_fifo #(.Width(SAW), .Depth(32)) u_rope_addr (
    .clk_i, .rst_ni,
    .in_valid_i(rq_in), .in_ready_o(rq_addr_unused), .in_data_i(mo_s_addr),
    .out_valid_o(), .out_ready_i(rq_out), .out_data_o(rq_addr), .count_o(rq_count));
  /* verilator lint_on PINCONNECTEMPTY */

  always_ff @(posedge clk_i) begin
    if (!rst_ni || uop_start_q) begin
      rq_head_w_q <= '0;
    end else if (rq_in) begin
      rq_head_w_q <= rp_in_last ? '0 : rq_head_w_q + 1'b1;
    end
  end

  // Write-back address: the read order again (q segment, k segment per token).
  always_ff @(posedge clk_i) begin
    if (!rst_ni || uop_start_q) begin
      rp_t_q    <= '0;
      rp_w_q    <= '0;
      rp_kind_q <= 1'b0;
    end else if (rp_out_valid) begin
      rp_w_q <= rp_w_q + 1'b1;
      if (rp_out_last) begin
        rp_w_q    <= '0;
        rp_kind_q <= !rp_kind_q;
        if (rp_kind_q) rp_t_q <= rp_t_q + 1'b1;
      end
    end
  end
  assign rp_waddr_q = SAW'((RAW'(rp_t_q) << SShift) + RAW'(rp_w_q) + (rp_kind_q ? RAW'(dim_w) : '0));

  logic rope_done;
  assign rope_done = is_rope && rp_out_valid && rp_out_last && rp_kind_q && rp_t_q == last_tok;

  // Residual: read x (cycle 1), add (cycle 2), write X and the tap (cycle 3).
  logic            rs_valid_q, rs_last_q, ra_last_q;
  logic [255:0]    rs_y_q;
  logic [XAW-1:0]  rs_addr_q, ra_addr_q;
  logic [TokW-1:0] rs_t_q, ra_t_q;
  logic [6:0]      rs_w_q, ra_w_q;
  logic            ra_out_valid, ra_x_ready, ra_y_ready;
  logic [255:0]    ra_out_data;
  assign rs_re    = is_resid && mu_out_valid;
  assign rs_raddr = XAW'((RAW'(mu_out_token[TokW-1:0]) << XShift) + RAW'(mo_word_idx));
  always_ff @(posedge clk_i) begin
    if (!rst_ni || uop_start_q) begin
      rs_valid_q <= 1'b0;
      rs_last_q  <= 1'b0;
      ra_last_q  <= 1'b0;
    end else begin
      rs_valid_q <= rs_re;
      rs_last_q  <= rs_re && mu_out_last && mo_resid_last_word;
      rs_y_q     <= mo_word;
      rs_addr_q  <= rs_raddr;
      rs_t_q     <= mu_out_token[TokW-1:0];
      rs_w_q     <= 7'(mo_word_idx);
      ra_last_q  <= rs_last_q;
      ra_addr_q  <= rs_addr_q;
      ra_t_q     <= rs_t_q;
      ra_w_q     <= rs_w_q;
    end
  end

  tp_residual_add #(.Lanes(8)) u_residual (
    .clk_i, .rst_ni,
    .x_valid_i(rs_valid_q), .x_ready_o(ra_x_ready), .x_data_i(x_rdata),
    .y_valid_i(rs_valid_q), .y_ready_o(ra_y_ready), .y_data_i(rs_y_q),
    .out_valid_o(ra_out_valid), .out_ready_i(1'b1), .out_data_o(ra_out_data));
  /* verilator lint_off UNUSEDSIGNAL */
  logic ra_ready_unused;
  /* verilator lint_on UNUSEDSIGNAL */
  assign ra_ready_unused = ra_x_ready & ra_y_ready;  // always ready: the output never stalls

  logic resid_done;
  assign resid_done = is_resid && ra_out_valid && ra_last_q;

  // Gate: half a beat (8 (gate, up) pairs) per cycle into tp_silu; its words
  // leave in the same order and go to S at mirrored counters.
  logic [255:0] sg_h1, sg_h3;
  always_comb begin
    for (int i = 0; i < 8; i++) begin
      sg_h1[i*32 +: 32] = mu_out_data[(mo_k_q[0] * 16 + 2 * i) * 32 +: 32];
      sg_h3[i*32 +: 32] = mu_out_data[(mo_k_q[0] * 16 + 2 * i + 1) * 32 +: 32];
    end
  end

  logic            sg_half_q;
  logic [6:0]      sg_g_q;         // row group (16 gated values) of the token
  logic [TokW-1:0] sg_t_q;

  tp_silu #(.Lanes(8)) u_silu (
    .clk_i, .rst_ni,
    .in_valid_i(is_gate && mu_out_valid), .in_ready_o(sg_in_ready),
    .in_h1_i(sg_h1), .in_h3_i(sg_h3),
    .out_valid_o(sg_out_valid), .out_ready_i(sg_out_ready), .out_data_o(sg_out_data));

  always_ff @(posedge clk_i) begin
    if (!rst_ni || uop_start_q) begin
      sg_half_q      <= 1'b0;
      sg_g_q         <= '0;
      sg_t_q         <= '0;
      sg_sent_last_q <= 1'b0;
      sg_in_cnt_q    <= '0;
      sg_out_cnt_q   <= '0;
    end else begin
      if (is_gate && mu_out_valid && sg_in_ready) begin
        sg_in_cnt_q <= sg_in_cnt_q + 1'b1;
        if (mo_beat_done && mu_out_last) sg_sent_last_q <= 1'b1;
      end
      if (sg_out_valid && sg_out_ready) begin
        sg_out_cnt_q <= sg_out_cnt_q + 1'b1;
        sg_half_q    <= !sg_half_q;
        if (sg_half_q) begin
          sg_t_q <= sg_t_q + 1'b1;
          if (sg_t_q == last_tok) begin
            sg_t_q <= '0;
            sg_g_q <= sg_g_q + 1'b1;
          end
        end
      end
    end
  end

  assign sg_out_ready = aq_from_silu ? aq_in_ready : !(aq_from_groups && sg_word_ends_group) || gq_in_ready;
  // The group feeder (prefill): vectors to tp_act_quant as they complete.
  // - KV: a token's attention output is complete when its last head is in
  //   H (heads finish in order per token, tokens in order in the last KV
  //   head's jobs): the token's vector, read back from H.
  // - MAT_W13: a row group's SiLU outputs are 2 words of one token, so a
  //   group (32 values, 4 words) completes with the second of its row groups
  //   (or the vector's last word), the block's other tokens in between: the
  //   group, read back from S, as a vector of its own.
  // The completing word queues (token, group); the read ports of H and S
  // are free meanwhile (KV reads S, MAT_W13 reads A).
  logic [7:0]      sg_word;        // word of the gated vector leaving tp_silu
  logic [7:0]      h_word;         // word of the attention output written to H
  logic            gq_push, gq_valid, gq_group_end, gq_pend_q, gq_last_q;
  logic [TokW-1:0] gq_push_t, gq_t;
  logic [5:0]      gq_push_g, gq_g;
  logic [7:0]      gq_w_q;         // word of the entry's vector (or group)
  logic [7:0]      gq_word_idx;    // word of the token's vector
  logic [2:0]      gq_words;
  assign sg_word = {sg_g_q, sg_half_q};
  assign h_word  = 8'(o_slot[6:0]) + 8'(o_beat_q);
  // (A row group's second half past hid_w is padding: it goes into S unread.)
  assign sg_word_ends_group = sg_word < hid_w && (sg_word[1:0] == 2'd3 || sg_word == hid_w - 1'b1);
  assign h_word_ends_vector = h_word == 8'(dim_w) - 1'b1;
  always_comb begin
    if (is_kv) begin
      gq_push   = aq_from_groups && h_we && h_word_ends_vector;
      gq_push_t = o_slot[TokW+6:7];
      gq_push_g = '0;
    end else begin
      gq_push   = aq_from_groups && sg_out_valid && sg_out_ready && sg_word_ends_group;
      gq_push_t = sg_t_q;
      gq_push_g = sg_word[7:2];
    end
  end
  /* verilator lint_off PINCONNECTEMPTY */
  tp_fifo #(.Width(TokW + 6), .Depth(4)) u_gq_groups (
    .clk_i, .rst_ni,
    .in_valid_i(gq_push), .in_ready_o(gq_in_ready), .in_data_i({gq_push_t, gq_push_g}),
    .out_valid_o(gq_valid), .out_ready_i(gq_issue && gq_group_end), .out_data_o({gq_t, gq_g}),
    .count_o());
  /* verilator lint_on PINCONNECTEMPTY */
  assign gq_word_idx  = {gq_g, 2'b00} + gq_w_q;
  assign gq_group_end = is_kv ? gq_word_idx == 8'(dim_w) - 1'b1
                              : gq_w_q == 8'd3 || gq_word_idx == hid_w - 1'b1;
  assign gq_issue     = gq_valid && 32'(gq_words) + 32'(gq_pend_q) < 32'd4;
  assign gq_raddr     = SAW'((RAW'(gq_t) << (is_kv ? XShift : SShift)) + RAW'(gq_word_idx));
  always_ff @(posedge clk_i) begin
    if (!rst_ni || uop_start_q) begin
      gq_w_q    <= '0;
      gq_pend_q <= 1'b0;
    end else begin
      gq_pend_q <= gq_issue;
      gq_last_q <= gq_group_end;
      if (gq_issue) gq_w_q <= gq_group_end ? '0 : gq_w_q + 1'b1;
    end
  end
  /* verilator lint_off UNUSEDSIGNAL */
  logic gq_words_ready;   // credits: the feeder reads only into free entries
  /* verilator lint_on UNUSEDSIGNAL */
  tp_fifo #(.Width(257), .Depth(4)) u_gq_words (
    .clk_i, .rst_ni,
    .in_valid_i(gq_pend_q), .in_ready_o(gq_words_ready), .in_data_i({is_kv ? h_rdata : s_rdata, gq_last_q}),
    .out_valid_o(gq_word_valid), .out_ready_i(aq_from_groups && aq_in_ready),
    .out_data_o({gq_word, gq_word_last}), .count_o(gq_words));

  // Logits: the classifier's beats straight into tp_argmax.
  localparam int unsigned VocabW = $clog2(MaxVocab);
  logic [VocabW-1:0] am_out_index;
  logic [31:0]       am_out_value;
  logic              am_err;
  tp_argmax #(.Lanes(32), .IndexWidth(VocabW)) u_argmax (
    .clk_i, .rst_ni,
    .in_valid_i(is_cls && mu_out_valid), .in_ready_o(am_in_ready),
    .in_data_i(mu_out_data), .in_count_i(mu_out_rows), .in_last_i(mu_out_last),
    .out_valid_o(am_out_valid), .out_ready_i(1'b1),
    .out_index_o(am_out_index), .out_value_o(am_out_value), .err_too_long_o(am_err));

  always_ff @(posedge clk_i) begin
    if (am_out_valid) begin
      res_token_q <= 15'(am_out_index);
      res_logit_q <= am_out_value;
    end
  end

  logic mat_done;
  assign mat_done = qkv_done || resid_done ||
                    (is_cls && am_out_valid);

  // ================================================= buffer write ports ===
  always_comb begin
    x_we    = 1'b0;
    x_waddr = ra_addr_q;
    x_wdata = ra_out_data;
    if (uop_q == UopEmbed) begin
      x_we    = em_out_valid && !em_out_error;
      x_waddr = XAW'((RAW'(em_t_q) << XShift) + RAW'(em_w_q));
      x_wdata = em_out_data;
    end else if (is_resid) begin
      x_we = ra_out_valid;
    end
    s_we    = 1'b0;
    s_waddr = mo_s_addr;
    s_wdata = mo_word;
    if (is_qkv) begin
      s_we = qkv_direct || rq_out;
      if (rq_out) begin
        s_waddr = rq_addr;
        s_wdata = rp_out_data;
      end
    end else if (is_rope) begin
      s_we    = rp_out_valid;
      s_waddr = rp_waddr_q;
      s_wdata = rp_out_data;
    end else if (is_gate) begin
      s_we    = sg_out_valid && !stream_q;
      s_waddr = SAW'((RAW'(sg_t_q) << SShift) + RAW'({sg_g_q, sg_half_q}));
      s_wdata = sg_out_data;
    end
  end

  // ================================================= FIFO consumers ===
  always_comb begin
    fo_ready = 1'b0;
    if (is_norm)       fo_ready = rn_in_ready;
    else if (is_rope)  fo_ready = rp_in_ready;
    else if (is_head)  fo_ready = !hd_valid_q;
    else if (is_mat)   fo_ready = mu_act_ready;
  end

  // ================================================= micro-op completion ===
  always_comb begin
    unique case (uop_q)
      UopLoad:  uop_done = load_done;
      UopEmbed: uop_done = embed_done;
      UopNormAtt, UopNormFfn, UopNormFin: uop_done = a_writer_done;
      UopRope:  uop_done = rope_done;
      UopKv:    uop_done = a_writer_done;   // every token's last head is out
      UopMatW13: uop_done = a_writer_done;
      UopMatQkv, UopMatWo, UopMatW2, UopMatCls: uop_done = mat_done;
      default:  uop_done = 1'b0;
    endcase
  end

  // ================================================= errors and taps ===
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      err_q <= '0;
    end else begin
      if (mu_err_cmd || mu_err_last || mu_err_act || am_err) err_q[0] <= 1'b1;
      if (au_err != '0 || (au_rsp_valid && au_rsp_status != 2'd0) ||
          au_rd_refused != '0 || au_wr_refused != '0 || au_wr_resp != '0 || au_rd_resp != '0) err_q[1] <= 1'b1;
      if (em_refused) err_q[2] <= 1'b1;
      if (hq_err_cfg || (hq_out_valid && hq_out_err)) err_q[3] <= 1'b1;
    end
  end

  assign cfg_ok_o = shape_ok && au_cfg_ok;

  always_comb begin
    tap_valid_o = 1'b0;
    tap_stage_o = 2'd0;
    tap_layer_o = 8'(layer_q);
    tap_token_o = em_t_q;
    tap_index_o = {6'd0, em_w_q, 3'd0};
    tap_count_o = 6'd8;
    tap_data_o  = {768'd0, em_out_data};
    if (uop_q == UopEmbed) begin
      tap_valid_o = em_out_valid && !em_out_error;
    end else if (is_resid) begin
      tap_valid_o = ra_out_valid;
      tap_stage_o = uop_q == UopMatWo ? 2'd1 : 2'd2;
      tap_token_o = ra_t_q;
      tap_index_o = {6'd0, ra_w_q, 3'd0};
      tap_data_o  = {768'd0, ra_out_data};
    end else if (is_cls) begin
      tap_valid_o = mu_out_valid && am_in_ready;
      tap_stage_o = 2'd3;
      tap_layer_o = 8'(n_layers);
      tap_token_o = last_tok;
      tap_index_o = {1'b0, mo_g_q, 5'd0};
      tap_count_o = mu_out_rows;
      tap_data_o  = mu_out_data;
    end
    tap_pos_o = pos0_q + 16'(tap_token_o);
  end

  // Vector-unit busy: the micro-ops between the matrices.
  logic [31:0] vec_busy_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) vec_busy_q <= '0;
    else if (busy_o && !is_mat && uop_q != UopLoad) vec_busy_q <= vec_busy_q + 1'b1;
  end
  assign perf_vec_busy_o = vec_busy_q;

endmodule
