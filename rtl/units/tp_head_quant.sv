// tp_head_quant: the head-wise INT8 quantizer of attention, bit-exact with
// tp::fx::quantize_q16(x, group = head_size) (golden/int/quantize.h) on one
// head: the query heads of IntModel::forward and the K and V heads of
// KvCache::store (golden/int/int_model.cpp, attention.cpp). Per head of
// head_size int32 Q16.16 values x, with A = max |x| (|INT32_MIN| = 2^31):
//   q     = round_half_away(127 x / A)                   (exact; 0 when A = 0)
//   scale = normalize(floor(A * 1024 * 2^12 / 127), -10 - 16 - 12)
//           (the zero scale {0, 0} when A = 0),
// i.e. tp::fx::quantize_activations with factor 1.0 and 16 fractional bits.
// The scale leaves as a ScaleFp (11-bit mantissa, 8-bit signed exponent: the
// attention engine's q_scale_m_i / q_scale_e_i) and as the 16-bit KV scale
// code of golden/int/kv_layout.h (kv_scale_code: 0 for the zero scale, else
// {exponent + 40, mantissa - 1024}: the KV port's wr_cmd_k/v_scale_i). The
// values leave as one 64-lane int8 row (lane i at [8i +: 8], zero beyond
// head_size): the attention unit's q_data_i and wr_cmd_k/v_row_i format.
//
// Arithmetic:
// - Maximum: lane i's key is {x < 0 ? ~x : x (31 bits), x < 0}; the largest
//   key (unsigned) has the largest |x| (|x| = (~x) + 1 for x < 0), so
//   A = key[31:1] + key[0] with no absolute value per lane, and the head is
//   stored as its keys (x = {key[0], key[31:1] ^ key[0]}). Lanes >= head_size
//   enter as 0. The maximum folds in one chunk of DivLanes keys per cycle (a
//   $clog2(DivLanes)-level compare tree and a running maximum) while the head
//   waits in the M register, so a 64-leaf tree is never built.
// - Values: tp_quant_divider (the exact rounding divider of tp_act_quant),
//   DivLanes lanes wide: with A known the head moves from M to the D register
//   and is divided in c = ceil(head_size / DivLanes) chunks, one per cycle,
//   and reassembled into the output row. M folds the next head's maximum
//   while D divides this one.
// - Scale: b = msb(A), w = A bits [b : b-18] (19 bits, zero-filled),
//   m1 = floor(w / 127) = ((w + 1) * (2^14 + 2^7 + 1)) >> 21 (exact for
//   w < 2^19, m1 in [2064, 4128]), mantissa = m1 >> 1 (>> 2 when m1 >= 4096),
//   exponent = b - 33 (+1 when m1 >= 4096), in [-33, -1]. This is the golden
//   normalize() because only 11 bits survive and floor(floor(x / a) / b) =
//   floor(x / (a b)) (the same derivation as tp_act_quant's scale path).
//
// Configuration: cfg_head_size_i (1..64) is sampled with each head when it is
// accepted, so it may change between heads. Out of range (0 or 65..127) is an
// error: that head leaves as an all-zero row with the zero scale, code 0 and
// out_err_o set, and the sticky err_cfg_o rises (cleared only by reset).
//
// Streams (valid/ready, data stable while valid && !ready):
//   in   one head per beat: 64 lanes of int32 (lane i at [32i +: 32], lanes
//        >= head_size ignored) and a UserWidth-bit sideband.
//   out  one beat per head: the int8 row, the scale (ScaleFp and KV code), the
//        sideband, out_err_o.
// Timing, without stalls, for a head of c = ceil(head_size / DivLanes) chunks
// (c = 1 for a bad head size): latency 7 + 2c (accepted at edge k, the row
// leaves at edge k + 7 + 2c: the M register, c - 1 further maximum chunks,
// the D register, the divider's 6 stages, c - 1 further chunks, the output
// row register) and initiation interval c (DivLanes 16: head_size 1..16 ->
// latency 9, II 1; 17..32 -> 11, 2; 33..48 -> 13, 3; 49..64 -> 15, 4). The
// next head is accepted in the cycle the current one moves from M to D, and
// that is the cycle D issues the last chunk of the head before. The pipeline
// stalls as one while an output row waits: in_ready_o follows out_ready_i
// combinationally.
//
// Resources (DivLanes 16): the M and D registers (64 keys of 32 bits each,
// flip-flops), a 4:1 chunk multiplexer on each, a 16-key compare tree with a
// running maximum, 16 increments to magnitudes, 16 lanes of tp_quant_divider
// (8 add/subtract steps of 34 bits each), a 6-stage scale path (LOD, 19-bit
// window shift, multiply by 16513 as three adds), the 512-bit output row;
// no DSP, no RAM. (A 64-leaf tree on the input costs about 11k LUTs in Yosys,
// the second head register about 2k flip-flops.)
module tp_head_quant #(
  parameter int unsigned DivLanes  = 16,  // divider lanes: 8, 16, 32 or 64 (values divided per cycle)
  parameter int unsigned UserWidth = 8    // sideband bits travelling with each head (>= 1)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,            // synchronous reset, active low (control only)
  // Configuration, sampled with each accepted head.
  input  logic [6:0]           cfg_head_size_i,   // 1 .. 64; else an error head
  output logic                 err_cfg_o,         // sticky: a head was accepted with a bad head size
  // Input heads.
  input  logic                 in_valid_i,
  output logic                 in_ready_o,        // follows out_ready_i combinationally
  input  logic [64*32-1:0]     in_data_i,         // lane i at [32i +: 32], int32 Q16.16
  input  logic [UserWidth-1:0] in_user_i,
  // Quantized heads, latency 7 + 2 ceil(head_size / DivLanes).
  output logic                 out_valid_o,
  input  logic                 out_ready_i,
  output logic [64*8-1:0]      out_q_o,           // lane i at [8i +: 8], int8 in [-127, 127], 0 beyond head_size
  output logic [10:0]          out_scale_m_o,     // in [1024, 2047], 0 for the zero scale
  output logic [7:0]           out_scale_e_o,     // signed, in [-33, -1], 0 for the zero scale
  output logic [15:0]          out_scale_code_o,  // kv_scale_code of the scale
  output logic [UserWidth-1:0] out_user_o,
  output logic                 out_err_o          // this head had a bad head size (all zero)
);

  localparam int unsigned Lanes     = 64;                    // a KV row: tp::fx::kKvMaxHeadSize int8
  localparam int unsigned Chunks    = Lanes / DivLanes;
  localparam int unsigned ChunkBits = Chunks > 1 ? $clog2(Chunks) : 1;
  localparam int unsigned DivShift  = $clog2(DivLanes);
  localparam int unsigned ChunkW    = DivLanes * 32;          // input bits of a chunk
  localparam int unsigned DStages   = 6;                     // tp_quant_divider

  // ------------------------------------------------------ parameter check ---
  if (DivLanes < 8 || DivLanes > Lanes || (DivLanes & (DivLanes - 1)) != 0) begin : gen_lanes_check
    $error("tp_head_quant: DivLanes must be 8, 16, 32 or 64");
  end
  if (UserWidth < 1) begin : gen_user_check
    $error("tp_head_quant: UserWidth must be >= 1");
  end

  // ============================================================ input ===
  // Lane i's key {x < 0 ? ~x : x (31 bits), x < 0}, 0 beyond head_size: the
  // largest key (unsigned) has the largest |x|, |x| = key[31:1] + key[0], and
  // x = {key[0], key[31:1] ^ key[0]}, so the head is stored as its keys.
  logic       cfg_ok;
  logic [6:0] hs_m1;
  assign cfg_ok = cfg_head_size_i != 7'd0 && cfg_head_size_i <= 7'd64;
  assign hs_m1  = cfg_head_size_i - 7'd1;

  logic [Lanes*32-1:0] keys_in;
  for (genvar i = 0; i < Lanes; i++) begin : gen_key
    logic [31:0] x;
    assign x = (cfg_ok && cfg_head_size_i > 7'(i)) ? in_data_i[i*32 +: 32] : 32'd0;
    assign keys_in[i*32 +: 32] = {x[30:0] ^ {31{x[31]}}, x[31]};
  end

  // The larger of two keys; the largest of a chunk's DivLanes keys (a tree of
  // $clog2(DivLanes) levels, computed in place).
  function automatic logic [31:0] key_max2(input logic [31:0] a, input logic [31:0] b);
    key_max2 = a > b ? a : b;
  endfunction
  function automatic logic [31:0] key_max_chunk(input logic [ChunkW-1:0] k);
    logic [ChunkW-1:0] t;
    t = k;
    for (int l = 0; l < DivShift; l++) begin
      for (int i = 0; i < (DivLanes >> (l + 1)); i++) begin
        t[i*32 +: 32] = key_max2(t[(2*i)*32 +: 32], t[(2*i+1)*32 +: 32]);
      end
    end
    key_max_chunk = t[31:0];
  endfunction

  // =================================================== M: the maximum ===
  // The head's keys wait in the M register while the running maximum folds in
  // one chunk per cycle; with the last chunk the head moves on to D (the
  // maximum, as a magnitude, beside it).
  logic                 adv;          // the pipeline behind D advances
  logic                 m_valid_q;    // M holds a head
  logic [ChunkBits-1:0] km_q;         // chunk of M being folded
  logic [ChunkBits-1:0] m_lastk_q;    // last chunk of the head in M
  logic [Lanes*32-1:0]  m_key_q;
  logic [UserWidth-1:0] m_user_q;
  logic                 m_err_q;
  logic [31:0]          rm_q;         // maximum key of the chunks before km_q
  logic                 m_last, d_free, handoff, in_fire;

  logic                 d_valid_q;    // D holds a head
  logic [ChunkBits-1:0] k_q;          // next chunk of D to issue
  logic [ChunkBits-1:0] d_lastk_q;    // last chunk of the head in D
  logic                 issue, issue_last;

  assign issue      = d_valid_q & adv;
  assign issue_last = k_q == d_lastk_q;
  assign d_free     = ~d_valid_q | (adv & issue_last);
  assign m_last     = km_q == m_lastk_q;
  assign handoff    = m_valid_q & m_last & d_free;
  assign in_ready_o = ~m_valid_q | handoff;
  assign in_fire    = in_valid_i & in_ready_o;

  logic [ChunkW-1:0] m_chunk;
  always_comb begin
    m_chunk = m_key_q[0 +: ChunkW];
    for (int j = 1; j < Chunks; j++) begin
      if (km_q == ChunkBits'(j)) m_chunk = m_key_q[j*ChunkW +: ChunkW];
    end
  end
  logic [31:0] chunk_max, m_acc;
  assign chunk_max = key_max_chunk(m_chunk);
  assign m_acc     = km_q == '0 ? chunk_max : key_max2(rm_q, chunk_max);

  always_ff @(posedge clk_i) begin
    if (in_fire) begin
      m_key_q   <= keys_in;
      m_user_q  <= in_user_i;
      m_err_q   <= ~cfg_ok;
      m_lastk_q <= cfg_ok ? ChunkBits'(hs_m1 >> DivShift) : '0;
    end
    if (m_valid_q && !m_last) rm_q <= m_acc;
  end

  // ================================================= D: the division ===
  logic [Lanes*32-1:0]  d_key_q;
  logic [31:0]          d_a_q;        // A = max |x|
  logic [UserWidth-1:0] d_user_q;
  logic                 d_err_q;
  always_ff @(posedge clk_i) begin
    if (handoff) begin
      d_key_q   <= m_key_q;
      d_a_q     <= {1'b0, m_acc[31:1]} + {31'd0, m_acc[0]};
      d_user_q  <= m_user_q;
      d_err_q   <= m_err_q;
      d_lastk_q <= m_lastk_q;
    end
  end

  logic err_cfg_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      m_valid_q <= 1'b0;
      km_q      <= '0;
      d_valid_q <= 1'b0;
      k_q       <= '0;
      err_cfg_q <= 1'b0;
    end else begin
      if (in_fire) m_valid_q <= 1'b1;
      else if (handoff) m_valid_q <= 1'b0;
      if (in_fire || handoff) km_q <= '0;
      else if (m_valid_q && !m_last) km_q <= km_q + 1'b1;
      if (handoff) d_valid_q <= 1'b1;
      else if (issue && issue_last) d_valid_q <= 1'b0;
      if (issue) k_q <= issue_last ? '0 : k_q + 1'b1;
      if (in_fire && !cfg_ok) err_cfg_q <= 1'b1;
    end
  end
  assign err_cfg_o = err_cfg_q;

  // The issued chunk's lanes as magnitude and sign.
  logic [ChunkW-1:0]    d_chunk;
  logic [ChunkW-1:0]    chunk_mag;
  logic [DivLanes-1:0]  chunk_neg;
  always_comb begin
    d_chunk = d_key_q[0 +: ChunkW];
    for (int j = 1; j < Chunks; j++) begin
      if (k_q == ChunkBits'(j)) d_chunk = d_key_q[j*ChunkW +: ChunkW];
    end
  end
  for (genvar i = 0; i < DivLanes; i++) begin : gen_mag
    logic [31:0] key;
    assign key                   = d_chunk[i*32 +: 32];
    assign chunk_neg[i]          = key[0];
    assign chunk_mag[i*32 +: 32] = {1'b0, key[31:1]} + {31'd0, key[0]};  // |INT32_MIN| = 2^31
  end

  logic [DivLanes*8-1:0] div_q;
  tp_quant_divider #(
    .Lanes   (DivLanes),
    .MagWidth(32)
  ) u_divider (
    .clk_i,
    .en_i (adv),
    .mag_i(chunk_mag),
    .neg_i(chunk_neg),
    .a_i  (d_a_q),
    .q_o  (div_q)
  );

  // Chunk tags beside the divider: valid, first and last chunk of the head,
  // chunk index. Stage DStages-1 is the divider's output stage O.
  logic [DStages-1:0]           tv_q, tfirst_q, tlast_q;
  logic [DStages*ChunkBits-1:0] tk_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      tv_q <= '0;
    end else if (adv) begin
      tv_q <= {tv_q[DStages-2:0], issue};
    end
  end
  always_ff @(posedge clk_i) begin
    if (adv) begin
      tfirst_q <= {tfirst_q[DStages-2:0], k_q == '0};
      tlast_q  <= {tlast_q[DStages-2:0], issue_last};
      tk_q     <= {tk_q[(DStages-1)*ChunkBits-1:0], k_q};
    end
  end
  logic                 o_valid, o_first, o_last;
  logic [ChunkBits-1:0] o_k;
  assign o_valid = tv_q[DStages-1];
  assign o_first = tfirst_q[DStages-1];
  assign o_last  = tlast_q[DStages-1];
  assign o_k     = tk_q[(DStages-1)*ChunkBits +: ChunkBits];

  // ============================================================ scale ===
  // Beside the divider's stages (every chunk carries its head's scale; the
  // output takes the first chunk's): S1 A, S2 b = msb(A), S3 window w,
  // S4 m1 = floor(w / 127), S5 mantissa and exponent, S6 zero scale and code.
  logic [31:0]          sa1_q, sa2_q;
  logic [4:0]           sb2_q, sb3_q, sb4_q;
  logic [18:0]          sw3_q;
  logic [13:0]          sm4_q;
  logic [10:0]          sm5_q, sm6_q;
  logic [7:0]           se5_q, se6_q;
  logic [15:0]          sc6_q;
  logic [4:0]           sz_q;      // A = 0, stages S1..S5
  logic [DStages*UserWidth-1:0] su_q;
  logic [DStages-1:0]   serr_q;

  logic [4:0] b_lod;
  always_comb begin
    b_lod = '0;
    for (int j = 0; j < 32; j++) begin
      if (sa1_q[j]) b_lod = 5'(j);
    end
  end

  logic [49:0] w_wide;
  assign w_wide = {sa2_q, 18'b0} >> sb2_q;

  logic [19:0] w1;
  logic [34:0] w_div;
  assign w1    = {1'b0, sw3_q} + 20'd1;
  assign w_div = {w1, 14'b0} + {8'b0, w1, 7'b0} + {15'b0, w1};  // (w + 1) * 16513

  logic       big;
  logic [7:0] e5, biased;
  assign big    = sm4_q[12];
  assign e5     = 8'({3'b0, sb4_q}) + {7'b0, big} - 8'd33;
  assign biased = se5_q + 8'd40;

  always_ff @(posedge clk_i) begin
    if (adv) begin
      sz_q   <= {sz_q[3:0], d_a_q == '0};
      su_q   <= {su_q[(DStages-1)*UserWidth-1:0], d_user_q};
      serr_q <= {serr_q[DStages-2:0], d_err_q};
      // S1
      sa1_q <= d_a_q;
      // S2
      sa2_q <= sa1_q;
      sb2_q <= b_lod;
      // S3
      sw3_q <= w_wide[18:0];
      sb3_q <= sb2_q;
      // S4
      sm4_q <= w_div[34:21];
      sb4_q <= sb3_q;
      // S5
      sm5_q <= big ? sm4_q[12:2] : sm4_q[11:1];
      se5_q <= e5;
      // S6
      sm6_q <= sz_q[4] ? 11'd0 : sm5_q;
      se6_q <= sz_q[4] ? 8'd0 : se5_q;
      sc6_q <= sz_q[4] ? 16'd0 : {biased[5:0], sm5_q[9:0]};
    end
  end

  // ============================================================ output ===
  // The row register: the first chunk of a head writes its lanes and clears
  // the others (lanes of chunks a short head never issues stay zero), later
  // chunks write their lanes; the row is valid after the last chunk.
  logic                 out_valid_q;
  logic [10:0]          out_m_q;
  logic [7:0]           out_e_q;
  logic [15:0]          out_code_q;
  logic [UserWidth-1:0] out_user_q;
  logic                 out_err_q;

  assign adv = ~out_valid_q | out_ready_i;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      out_valid_q <= 1'b0;
    end else if (adv) begin
      out_valid_q <= o_valid & o_last;
    end
  end

  always_ff @(posedge clk_i) begin
    if (adv && o_valid && o_first) begin
      out_m_q    <= sm6_q;
      out_e_q    <= se6_q;
      out_code_q <= sc6_q;
      out_user_q <= su_q[(DStages-1)*UserWidth +: UserWidth];
      out_err_q  <= serr_q[DStages-1];
    end
  end

  for (genvar j = 0; j < Chunks; j++) begin : gen_row
    logic [DivLanes*8-1:0] row_q;
    always_ff @(posedge clk_i) begin
      if (adv && o_valid) begin
        if (o_k == ChunkBits'(j)) row_q <= div_q;
        else if (o_first) row_q <= '0;
      end
    end
    assign out_q_o[j*DivLanes*8 +: DivLanes*8] = row_q;
  end

  assign out_valid_o      = out_valid_q;
  assign out_scale_m_o    = out_m_q;
  assign out_scale_e_o    = out_e_q;
  assign out_scale_code_o = out_code_q;
  assign out_user_o       = out_user_q;
  assign out_err_o        = out_err_q;

  logic unused;
  assign unused = ^{w_wide[49:19], w_div[20:0], sm4_q[13], sm4_q[0], biased[7:6]};

  // ----------------------------------------------------------- assertions ---
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(Lanes*32 + UserWidth), .Name("tp_head_quant in")) u_in_check (
    .clk_i, .rst_ni, .valid_i(in_valid_i), .ready_i(in_ready_o), .data_i({in_user_i, in_data_i})
  );
  tp_stream_checker #(.Width(Lanes*8 + 11 + 8 + 16 + UserWidth + 1), .Name("tp_head_quant out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i),
    .data_i({out_err_o, out_user_o, out_scale_code_o, out_scale_e_o, out_scale_m_o, out_q_o})
  );

  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      if (adv && tv_q[3] && !sz_q[3]) begin
        assert (sm4_q >= 14'd2064 && sm4_q <= 14'd4128)
          else $error("tp_head_quant: scale quotient %0d out of range", sm4_q);
      end
      if (issue) begin
        assert (k_q <= d_lastk_q) else $error("tp_head_quant: chunk %0d beyond the head", k_q);
      end
    end
  end
`endif

endmodule
