// tp_rope: rotary position embedding (RoPE) of a Q16.16 vector, bit-exact to
// tp::fx::rope (golden/int/rope.h).
//
// The vector (the query or the key out of the fused QKV matmul, heads back to
// back) arrives as a stream of pair beats. Pair (a, b) = elements (2i, 2i+1)
// of the vector, with pair index j = (2i mod head_size) / 2 inside its head,
// is rotated by the phase pos * step_j (mod 2^32, turns * 2^32):
//   c = cosine(phase) = sine(phase + 2^30),  s = sine(phase)      (Q1.15)
//   a' = sat32((a*c - b*s + 2^14) >> 15),  b' = sat32((a*s + b*c + 2^14) >> 15)
//   sine: quadrant = phase[31:30], u = phase[29:14], mirrored to 2^16 - u in
//   quadrants 1 and 3, k = u >> 8, r = u & 255, S[k] + (((S[k+1] - S[k]) * r
//   + 128) >> 8) from the 257-entry tp_sine_table, negated in quadrants 2, 3.
//
// Stream protocol (valid/ready; data, pos and last stable while valid && !ready):
//   in_data_i    PairLanes pairs per beat; lane l holds a at [64l +: 32] and
//                b at [64l+32 +: 32] (two's complement Q16.16). The beats of a
//                vector carry its pairs in order; every head is whole.
//   in_pos_i     the position (32 bits, as the golden's uint32 cast; the
//                phase wraps modulo 2^32), sampled with the FIRST beat of a vector (the
//                first beat after reset or after a beat with in_last_i) and
//                used for the whole vector; ignored on the other beats.
//   in_last_i    marks the last beat of a vector; the pair counter restarts.
//   out_*        the rotated pairs, same layout and order; out_last_o is
//                in_last_i passed through.
// Latency 15 cycles, II 1 beat per cycle. The pipeline advances as a whole
// when the output register is empty or being read: in_ready_o =
// !out_valid_o || out_ready_i (a combinational path from out_ready_i; put a
// tp_stream_register behind it where a registered ready is needed).
//
// Configuration (host side, not per beat):
//   cfg_head_size_i  elements per head: even, a multiple of 2 * PairLanes, at
//                    most MaxHeadDim; stable while a vector is being accepted.
//   cfg_step_*       write port of the phase-step RAM: entry j = step of pair
//                    j of every head (rope_phase_steps(head_size), head_size/2
//                    entries). A write at edge k is seen by the beats accepted
//                    after edge k; beats accepted earlier (in flight) keep the
//                    old value, so the host may rewrite the steps as soon as
//                    the last beat of the previous vector has been accepted.
//
// Pipeline (Ej: the registers loaded j edges after the edge E0 that accepts
// the beat; every register moves on `advance`):
//   E0   pair data, pos (first beat), step RAM read (sync, one bank per lane)
//   E1   phase partial products: pos[15:0]*step[15:0] (32 bits) and the low
//        16 bits of pos[31:16]*step[15:0] and pos[15:0]*step[31:16]  (3 DSP)
//   E2   phase = sum (mod 2^32), bits 31:14 used
//   E3   table address k and fraction r for sin and cos (u mirrored)
//   E4   sine table ROM outputs S[k], S[k+1] for sin and cos (4 LUT ROMs)
//   E5   D = S[k+1] - S[k]
//   E6   D * r                                       (2 DSP: sin, cos)
//   E7   P = D * r + S[k] * 256 + 128; magnitude = P >> 8 (DSP post-adder)
//   E8   signed s, -s, c
//   E9..E13  rotation: a and b split into a 17-bit unsigned low part and a
//        15-bit signed high part, so every product is 18 x 17 bits signed and
//        fits one DSP48E2 (27 x 18). Per output, a chain of 4 DSPs:
//          L  = aL*c + bL*(-s)                     (products E9, E10; L at E11)
//          H  = aH*c + (L >>> 17) + bH*(-s)        (products E11, E12; H at E13;
//               L >>> 17 is the 17-bit shifted PCIN cascade of the DSP48E2)
//          a*c - b*s = H * 2^17 + L[16:0]          (likewise a*s + b*c)
//   E14  round: (H * 2^17 + L[16:0] + 2^14) >> 15 = 4H + ((L[16:0] + 2^14) >> 15),
//        saturate to int32, output register.
// Resources per pair lane: 13 DSP48E2 (3 phase + 2 interpolation + 8
// rotation); 4 LUT ROMs of the 257 x 17 sine table; the step RAM as LUTRAM
// (MaxHeadDim/2/PairLanes x 32 per lane); the pair data delay lines as SRLs.
//
// PairLanes = 1 by default: one pair (two elements) per cycle is twice the
// rate at which the matrix engine produces Q/K outputs (8 x 8 MACs per cycle,
// every output needs dim >= 64 MACs: at most one element per cycle).
module tp_rope #(
  // Pairs per beat (a power of two); MaxHeadDim/2 must be a multiple of 2 * PairLanes.
  parameter int unsigned PairLanes  = 1,
  // Largest head size (elements) the step RAM and the pair counter support.
  parameter int unsigned MaxHeadDim = tp_pkg::MaxHeadDim,
  // Width of cfg_head_size_i (holds MaxHeadDim); derived, do not override.
  parameter int unsigned HeadSizeWidth = $clog2(MaxHeadDim + 1),
  // Width of the step RAM address (MaxHeadDim/2 entries); derived.
  parameter int unsigned StepAddrWidth = $clog2(MaxHeadDim / 2)
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,            // synchronous reset, active low
  // Configuration.
  // Elements per head; even, so bit 0 only enters the simulation assertions.
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic [HeadSizeWidth-1:0] cfg_head_size_i,
  /* verilator lint_on UNUSEDSIGNAL */
  input  logic                     cfg_step_we_i,     // write step RAM entry at this edge
  input  logic [StepAddrWidth-1:0] cfg_step_addr_i,   // pair index j within a head
  input  logic [31:0]              cfg_step_data_i,   // step_j, turns * 2^32
  // Input stream.
  input  logic                     in_valid_i,
  output logic                     in_ready_o,        // = !out_valid_o || out_ready_i
  input  logic [PairLanes*64-1:0]  in_data_i,         // PairLanes pairs {b, a}
  input  logic [31:0]              in_pos_i,          // position; first beat of a vector
  input  logic                     in_last_i,         // last beat of a vector
  // Output stream, 15 cycles after the input.
  output logic                     out_valid_o,       // registered; low after reset
  input  logic                     out_ready_i,
  output logic [PairLanes*64-1:0]  out_data_o,        // rotated pairs {b', a'}
  output logic                     out_last_o
);

  // ------------------------------------------------------ parameter check ---
  localparam int unsigned Pairs     = MaxHeadDim / 2;               // step RAM entries
  localparam int unsigned LaneBits  = $clog2(PairLanes);
  localparam int unsigned BankDepth = Pairs / PairLanes;            // entries per lane
  localparam int unsigned BankBits  = StepAddrWidth - LaneBits;     // bank address width
  localparam int unsigned Latency   = 15;

  if (PairLanes == 0 || (PairLanes & (PairLanes - 1)) != 0) begin : gen_lanes_check
    $error("tp_rope: PairLanes must be a power of two");
  end
  if (MaxHeadDim < 4 || (MaxHeadDim & (MaxHeadDim - 1)) != 0) begin : gen_head_check
    $error("tp_rope: MaxHeadDim must be a power of two >= 4");
  end
  if (BankDepth < 2 || BankDepth * PairLanes != Pairs) begin : gen_bank_check
    $error("tp_rope: MaxHeadDim/2 must be a multiple of 2 * PairLanes");
  end
  if (HeadSizeWidth != $clog2(MaxHeadDim + 1) || StepAddrWidth != $clog2(MaxHeadDim / 2)) begin : gen_width_check
    $error("tp_rope: HeadSizeWidth and StepAddrWidth are derived parameters");
  end

  `include "tp_sine_table.svh"

  // Operands of the rotation products, extended to the 34-bit product width
  // (synthesis sees through the extension: 17 x 18 bits signed per DSP).
  function automatic logic signed [33:0] ext_trig(input logic signed [16:0] v);  // sin, cos
    ext_trig = {{17{v[16]}}, v};
  endfunction
  function automatic logic signed [33:0] ext_lo(input logic [16:0] v);  // x[16:0], unsigned
    ext_lo = {17'd0, v};
  endfunction
  function automatic logic signed [33:0] ext_hi(input logic [14:0] v);  // x[31:17], signed
    ext_hi = {{19{v[14]}}, v};
  endfunction

  // Clamps a 36-bit two's complement value to [-2^31, 2^31 - 1].
  function automatic logic [31:0] saturate_i32(input logic [35:0] v);
    if (v[35:31] == 5'b00000 || v[35:31] == 5'b11111) begin
      saturate_i32 = v[31:0];
    end else if (v[35]) begin
      saturate_i32 = 32'h8000_0000;
    end else begin
      saturate_i32 = 32'h7fff_ffff;
    end
  endfunction

  // ------------------------------------------------------------- control ---
  // The whole pipeline moves together; a bubble moves like a beat.
  logic               advance;
  logic               in_fire;
  logic [Latency-1:0] valid_q;   // valid_q[j]: the register set of edge E(j) holds a beat
  logic [Latency-1:0] last_q;    // last flag beside it (no reset: qualified by valid_q)

  assign out_valid_o = valid_q[Latency-1];
  assign advance     = ~out_valid_o | out_ready_i;
  assign in_ready_o  = advance;
  assign in_fire     = in_valid_i & advance;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      valid_q <= '0;
    end else if (advance) begin
      valid_q <= {valid_q[Latency-2:0], in_fire};
    end
  end

  always_ff @(posedge clk_i) begin
    if (advance) begin
      last_q <= {last_q[Latency-2:0], in_last_i};
    end
  end
  assign out_last_o = last_q[Latency-1];

  // Pair counter: index (within the head) of the first pair of the current
  // beat, a multiple of PairLanes; restarts with every vector.
  logic                     first_q;    // next beat is the first of a vector
  logic [StepAddrWidth-1:0] pair_q;     // pair index of the next beat unless first_q
  logic [StepAddrWidth-1:0] pair_idx;   // pair index of the beat at the input
  logic [StepAddrWidth:0]   pair_next;  // pair_idx + PairLanes (up to MaxHeadDim/2)
  logic [StepAddrWidth:0]   pairs_per_head;
  logic                     head_done;  // this beat ends a head

  localparam logic [StepAddrWidth:0] LaneStep = PairLanes[StepAddrWidth:0];

  assign pair_idx       = first_q ? '0 : pair_q;
  assign pair_next      = {1'b0, pair_idx} + LaneStep;
  assign pairs_per_head = cfg_head_size_i[HeadSizeWidth-1:1];
  assign head_done      = pair_next == pairs_per_head;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      first_q <= 1'b1;
      pair_q  <= '0;
    end else if (in_fire) begin
      first_q <= in_last_i;
      pair_q  <= head_done ? '0 : pair_next[StepAddrWidth-1:0];
    end
  end

  // E0: the vector's position (one register for all lanes: it only changes
  // when the first beat of a new vector enters, the edge at which the beat
  // ahead of it leaves E0).
  logic [31:0] pos_q;
  always_ff @(posedge clk_i) begin
    if (in_fire && first_q) begin
      pos_q <= in_pos_i;
    end
  end

  // ------------------------------------------------------ pair lanes ---
  for (genvar l = 0; l < PairLanes; l++) begin : gen_lane
    // ---------------------------------------------- step RAM bank (LUTRAM) ---
    // Bank l holds the steps of pairs j with j mod PairLanes == l, at j / PairLanes.
    logic [31:0]         step_mem [BankDepth];
    logic [31:0]         step_q;   // E0
    logic                bank_we;
    logic [BankBits-1:0] bank_waddr, bank_raddr;

    assign bank_waddr = cfg_step_addr_i[StepAddrWidth-1:LaneBits];
    assign bank_raddr = pair_idx[StepAddrWidth-1:LaneBits];
    if (PairLanes == 1) begin : gen_one_bank
      assign bank_we = cfg_step_we_i;
    end else begin : gen_banks
      localparam logic [LaneBits-1:0] Lane = l;
      assign bank_we = cfg_step_we_i && cfg_step_addr_i[LaneBits-1:0] == Lane;
    end

    always_ff @(posedge clk_i) begin
      if (bank_we) begin
        step_mem[bank_waddr] <= cfg_step_data_i;
      end
    end
    always_ff @(posedge clk_i) begin
      if (advance) begin
        step_q <= step_mem[bank_raddr];
      end
    end

    // -------------------------------------------------- pair data delay ---
    // a (low word) and b (high word) from E0 to their first use in the
    // rotation: a[16:0] at E8, b[16:0] at E9, a[31:17] at E10, b[31:17] at E11.
    logic [8*64-1:0] pair_pipe_q;  // {E8, E7, ..., E1}: 64 bits each
    logic [63:0]     pair_e0_q;
    logic [31:0]     b_e9_q;
    logic [14:0]     a_hi_e9_q, a_hi_e10_q, b_hi_e10_q, b_hi_e11_q;
    logic [31:0]     a_e8, b_e8;

    always_ff @(posedge clk_i) begin
      if (advance) begin
        pair_e0_q   <= in_data_i[l*64 +: 64];
        pair_pipe_q <= {pair_pipe_q[7*64-1:0], pair_e0_q};
        b_e9_q      <= b_e8;
        a_hi_e9_q   <= a_e8[31:17];
        a_hi_e10_q  <= a_hi_e9_q;
        b_hi_e10_q  <= b_e9_q[31:17];
        b_hi_e11_q  <= b_hi_e10_q;
      end
    end
    assign a_e8 = pair_pipe_q[7*64 +: 32];
    assign b_e8 = pair_pipe_q[7*64+32 +: 32];

    // ------------------------------------------------ phase = pos * step ---
    logic [31:0] phase_ll_q;                 // E1: pos[15:0] * step[15:0]
    logic [15:0] phase_hl_q, phase_lh_q;     // E1: low halves of the cross products
    // Bits 13:0 of the phase lie below the sine table's interpolation step.
    /* verilator lint_off UNUSEDSIGNAL */
    logic [31:0] phase_sum;
    /* verilator lint_on UNUSEDSIGNAL */
    logic [17:0] phase_q;                    // E2: phase bits 31:14 (the rest is unused)
    assign phase_sum = phase_ll_q + {phase_hl_q + phase_lh_q, 16'h0000};
    always_ff @(posedge clk_i) begin
      if (advance) begin
        phase_ll_q <= {16'h0000, pos_q[15:0]} * {16'h0000, step_q[15:0]};
        phase_hl_q <= pos_q[31:16] * step_q[15:0];
        phase_lh_q <= pos_q[15:0] * step_q[31:16];
        phase_q    <= phase_sum[31:14];
      end
    end

    // ------------------------------------------------- sine table address ---
    // sin uses phase, cos uses phase + 2^30 (the next quadrant): the two read
    // the same u, mirrored in the other's quadrants.
    logic [15:0] u;
    logic [16:0] u_mirrored, u_sin, u_cos;
    assign u          = phase_q[15:0];
    assign u_mirrored = 17'h10000 - {1'b0, u};
    assign u_sin      = phase_q[16] ? u_mirrored : {1'b0, u};
    assign u_cos      = phase_q[16] ? {1'b0, u} : u_mirrored;

    // E3: table addresses and interpolation fractions.
    logic [8:0] k_sin_q, k_cos_q;
    logic [7:0] r_sin_e3_q, r_cos_e3_q;
    logic [1:0] neg_e3_q;  // {sin, cos}: negative in quadrants 2 and 3
    always_ff @(posedge clk_i) begin
      if (advance) begin
        k_sin_q    <= u_sin[16:8];
        k_cos_q    <= u_cos[16:8];
        r_sin_e3_q <= u_sin[7:0];
        r_cos_e3_q <= u_cos[7:0];
        // sin: phase[31]; cos: the quadrant of phase + 2^30.
        neg_e3_q   <= {phase_q[17], phase_q[17] ^ phase_q[16]};
      end
    end

    // E4: ROM outputs (k = 256 reads entry 257, which is 0, only with r = 0).
    logic [16:0] sin_lo_q, sin_hi_q, cos_lo_q, cos_hi_q;
    logic [7:0]  r_sin_e4_q, r_cos_e4_q;
    logic [1:0]  neg_e4_q, neg_e5_q;
    always_ff @(posedge clk_i) begin
      if (advance) begin
        sin_lo_q   <= tp_sine_table_entry(k_sin_q);
        sin_hi_q   <= tp_sine_table_entry(k_sin_q + 9'd1);
        cos_lo_q   <= tp_sine_table_entry(k_cos_q);
        cos_hi_q   <= tp_sine_table_entry(k_cos_q + 9'd1);
        r_sin_e4_q <= r_sin_e3_q;
        r_cos_e4_q <= r_cos_e3_q;
        neg_e4_q   <= neg_e3_q;
        neg_e5_q   <= neg_e4_q;
      end
    end

    // E5..E7: S[k] + ((D * r + 128) >> 8) = (D * r + S[k] * 256 + 128) >> 8.
    logic signed [17:0] d_sin_q, d_cos_q;            // E5
    logic        [7:0]  r_sin_q, r_cos_q;            // E5
    logic        [16:0] s0_sin_e5_q, s0_cos_e5_q;    // E5
    logic signed [25:0] m_sin_q, m_cos_q;            // E6: D * r
    logic signed [25:0] c_sin_q, c_cos_q;            // E6: S[k] * 256 + 128
    // P >> 8 keeps bits 24:8 (P < 2^24 + 2^8; bits 7:0 are the rounding remainder).
    /* verilator lint_off UNUSEDSIGNAL */
    logic signed [25:0] p_sin_q, p_cos_q;            // E7
    /* verilator lint_on UNUSEDSIGNAL */
    logic        [1:0]  neg_e6_q, neg_e7_q;          // {sin, cos}
    always_ff @(posedge clk_i) begin
      if (advance) begin
        d_sin_q     <= $signed({1'b0, sin_hi_q}) - $signed({1'b0, sin_lo_q});
        d_cos_q     <= $signed({1'b0, cos_hi_q}) - $signed({1'b0, cos_lo_q});
        r_sin_q     <= r_sin_e4_q;
        r_cos_q     <= r_cos_e4_q;
        s0_sin_e5_q <= sin_lo_q;
        s0_cos_e5_q <= cos_lo_q;
        m_sin_q     <= $signed({{8{d_sin_q[17]}}, d_sin_q}) * $signed({18'd0, r_sin_q});
        m_cos_q     <= $signed({{8{d_cos_q[17]}}, d_cos_q}) * $signed({18'd0, r_cos_q});
        c_sin_q     <= $signed({1'b0, s0_sin_e5_q, 8'h80});
        c_cos_q     <= $signed({1'b0, s0_cos_e5_q, 8'h80});
        p_sin_q     <= m_sin_q + c_sin_q;
        p_cos_q     <= m_cos_q + c_cos_q;
        neg_e6_q    <= neg_e5_q;
        neg_e7_q    <= neg_e6_q;
      end
    end

    // E8: signed sin, -sin, cos in [-32768, 32768] (17 bits).
    logic        [16:0] mag_sin, mag_cos;
    logic signed [16:0] sin_q, nsin_q, cos_q;
    assign mag_sin = p_sin_q[24:8];
    assign mag_cos = p_cos_q[24:8];
    always_ff @(posedge clk_i) begin
      if (advance) begin
        sin_q  <= neg_e7_q[1] ? -mag_sin : mag_sin;
        nsin_q <= neg_e7_q[1] ? mag_sin : -mag_sin;
        cos_q  <= neg_e7_q[0] ? -mag_cos : mag_cos;
      end
    end

    // -------------------------------------------------------- rotation ---
    // x = a*c + b*(-s) -> a',  y = a*s + b*c -> b'. Each operand set one edge
    // later than the previous one, as the DSP cascade consumes it.
    logic signed [16:0] sin_e9_q, sin_e10_q, nsin_e9_q, nsin_e10_q, nsin_e11_q;
    logic signed [16:0] cos_e9_q, cos_e10_q, cos_e11_q;
    logic signed [33:0] x_m1_q, y_m1_q, x_m2_q, y_m2_q;  // products, low parts
    logic signed [33:0] x_m3_q, y_m3_q, x_m4_q, y_m4_q;  // products, high parts
    logic signed [33:0] x_p1_q, y_p1_q, x_p2_q, y_p2_q;  // L chain
    logic signed [33:0] x_p3_q, y_p3_q, x_p4_q, y_p4_q;  // H chain
    logic        [16:0] x_lo_e12_q, y_lo_e12_q, x_lo_e13_q, y_lo_e13_q;

    always_ff @(posedge clk_i) begin
      if (advance) begin
        sin_e9_q   <= sin_q;
        sin_e10_q  <= sin_e9_q;
        nsin_e9_q  <= nsin_q;
        nsin_e10_q <= nsin_e9_q;
        nsin_e11_q <= nsin_e10_q;
        cos_e9_q   <= cos_q;
        cos_e10_q  <= cos_e9_q;
        cos_e11_q  <= cos_e10_q;
        // E9: aL * (c, s)                               E10: P1 = M1
        x_m1_q <= ext_trig(cos_q) * ext_lo(a_e8[16:0]);
        y_m1_q <= ext_trig(sin_q) * ext_lo(a_e8[16:0]);
        x_p1_q <= x_m1_q;
        y_p1_q <= y_m1_q;
        // E10: bL * (-s, c)                             E11: L = P1 + M2
        x_m2_q <= ext_trig(nsin_e9_q) * ext_lo(b_e9_q[16:0]);
        y_m2_q <= ext_trig(cos_e9_q) * ext_lo(b_e9_q[16:0]);
        x_p2_q <= x_p1_q + x_m2_q;
        y_p2_q <= y_p1_q + y_m2_q;
        // E11: aH * (c, s)                              E12: P3 = (L >>> 17) + M3
        x_m3_q <= ext_trig(cos_e10_q) * ext_hi(a_hi_e10_q);
        y_m3_q <= ext_trig(sin_e10_q) * ext_hi(a_hi_e10_q);
        x_p3_q <= (x_p2_q >>> 17) + x_m3_q;
        y_p3_q <= (y_p2_q >>> 17) + y_m3_q;
        // E12: bH * (-s, c)                             E13: H = P3 + M4
        x_m4_q <= ext_trig(nsin_e11_q) * ext_hi(b_hi_e11_q);
        y_m4_q <= ext_trig(cos_e11_q) * ext_hi(b_hi_e11_q);
        x_p4_q <= x_p3_q + x_m4_q;
        y_p4_q <= y_p3_q + y_m4_q;
        // L[16:0] beside the H chain.
        x_lo_e12_q <= x_p2_q[16:0];
        y_lo_e12_q <= y_p2_q[16:0];
        x_lo_e13_q <= x_lo_e12_q;
        y_lo_e13_q <= y_lo_e12_q;
      end
    end

    // E14: round half up by 2^-15 and saturate to int32.
    // Only the carry bits 17:15 of L[16:0] + 2^14 reach the result (0..4 added to 4H).
    /* verilator lint_off UNUSEDSIGNAL */
    logic        [17:0] x_lo_round, y_lo_round;
    /* verilator lint_on UNUSEDSIGNAL */
    logic signed [35:0] x_round, y_round;
    logic        [31:0] x_out_q, y_out_q;
    assign x_lo_round = {1'b0, x_lo_e13_q} + 18'h04000;
    assign y_lo_round = {1'b0, y_lo_e13_q} + 18'h04000;
    assign x_round    = {x_p4_q, 2'b00} + {33'd0, x_lo_round[17:15]};
    assign y_round    = {y_p4_q, 2'b00} + {33'd0, y_lo_round[17:15]};

    always_ff @(posedge clk_i) begin
      if (advance) begin
        x_out_q <= saturate_i32(x_round);
        y_out_q <= saturate_i32(y_round);
      end
    end
    assign out_data_o[l*64 +: 64] = {y_out_q, x_out_q};
  end

  // -------------------------------------------------------- assertions ---
  // Immediate assertions (Verilator --assert): the handshake rules of both
  // ports, the head size and whole heads per vector.
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(PairLanes*64 + 33), .Name("tp_rope in")) u_in_check (
    .clk_i, .rst_ni, .valid_i(in_valid_i), .ready_i(in_ready_o),
    .data_i({in_last_i, in_pos_i, in_data_i})
  );
  tp_stream_checker #(.Width(PairLanes*64 + 1), .Name("tp_rope out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i), .data_i({out_last_o, out_data_o})
  );

  localparam logic [HeadSizeWidth-1:0] ChkMaxHeadSize = MaxHeadDim[HeadSizeWidth-1:0];
  localparam logic [StepAddrWidth:0]   ChkLaneMask    = LaneStep - 1'b1;

  always_ff @(posedge clk_i) begin
    if (rst_ni && in_fire) begin
      assert (cfg_head_size_i[0] == 1'b0 && cfg_head_size_i <= ChkMaxHeadSize
              && pairs_per_head != '0 && (pairs_per_head & ChkLaneMask) == '0)
        else $error("tp_rope: cfg_head_size_i must be even, <= MaxHeadDim, a multiple of 2 * PairLanes");
      assert (!in_last_i || head_done)
        else $error("tp_rope: in_last_i before the end of a head (vector length not a multiple of head_size)");
    end
  end
`endif

endmodule
