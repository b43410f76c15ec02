// tp_silu: the SwiGLU gate, out = silu(h1) * h3 = h1 * sigmoid(h1) * h3.
//
// Golden twin: tp::fx::silu_gate (golden/int/silu.h), bit for bit:
//   t     = round_shift(h1, -4)                 h1 in Q4.12, round half up
//   sigma = 65536 if t > 32767, 0 if t < -32768, else sigmoid(t), where
//           sigmoid(t) for t >= 0 interpolates the 65-entry table A (segments
//           of 1/8): k = t >> 9, r = t & 511,
//           A[k] + (((A[min(k+1, 64)] - A[k]) * r + 256) >> 9),
//           and sigmoid(t) = 65536 - sigmoid(-t) for t < 0;
//   silu  = round_shift(h1 * sigma, -16)
//   out   = saturate_i32(round_shift(silu * h3, -16)).
// h1, h3 and out are int32 Q16.16; each beat carries Lanes pairs, lane i at
// [i*32 +: 32] of in_h1_i / in_h3_i / out_data_o. Each lane is its own
// generate instance with its own pipeline.
//
// Stream protocol: valid/ready, data stable while valid && !ready. The
// pipeline moves as a whole: it advances whenever its last stage is empty or
// its beat leaves (en = ~out_valid_o | out_ready_i), and in_ready_o = en. So
// in_ready_o depends combinationally on out_ready_i (never on in_valid_i);
// out_valid_o is a flop. Put a tp_stream_register behind the unit where that
// path needs cutting.
//
// Timing: latency 9 cycles (a pair accepted at edge k is on out_* from edge
// k+8 on and leaves at edge k+9 when the sink is ready), II = 1 beat per
// cycle while the sink is ready.
//
// Pipeline (per lane; every stage a register, no reset on data):
//   1  |t| without forming t: t < 0 iff h1 < -8, and then
//      -t = (~h1 + 8) >> 4, so mag = ((h1 ^ {32{neg}}) + 8) >> 4 (one
//      32-bit adder); k, r = mag[15:9], mag[8:0]; saturation flags from mag.
//   2  sigmoid table ROM (LUTs), A[k] and A[min(k+1, 64)], registered.
//   3  slope * r (DSP 1: 18 x 10 signed); base = neg ? 65536 - A[k] : A[k].
//   4  sigma = base +- ((slope * r + 256) >>> 9)  (17 bits unsigned).
//   5  h1 * sigma (DSP 2: 21 x 18 signed). Exact with 21 bits of h1: sigma
//      is only used when -32768 <= t <= 32767, i.e. -524296 <= h1 <= 524279.
//   6  silu = h1 if t > 32767, 0 if t < -32768, else (h1*sigma + 2^15) >>> 16.
//      silu fits int32: silu <= h1 for h1 >= 0, and |silu| < 2^20 otherwise.
//   7  silu * h3 in four DSP partial products (x = silu, y = h3;
//      x = xh 2^17 + xl, xl = x[16:0] unsigned, xh = x[31:17] signed;
//      y = yh 2^26 + yl, yl = y[25:0] unsigned, yh = y[31:26] signed):
//      DSP 3 xl*yl + 2^15 (27 x 18), DSP 4 xh*yl (27 x 18), DSP 5 xl*yh
//      (6 x 18), DSP 6 xh*yh (6 x 15). Every operand fits the DSP48E2's
//      27 x 18 signed multiplier (unsigned parts get a 0 sign bit).
//   8  in units of 2^16 (the rounding constant is already in DSP 3):
//      sa = (xl*yl + 2^15) >> 16 + 2 xh*yl, sb = 2^10 xl*yh + 2^27 xh*yh.
//   9  out = saturate_i32(sa + sb); |sa + sb| <= 2^46 + 1 fits 48 bits.
//
// Resources (Lanes = 4): 6 DSP48E2 per lane (24), the sigmoid ROM twice per
// lane in LUTs, the fabric adders and pipeline flops (exact numbers and their
// derivation in tp_silu.synth.json). No BRAM.
module tp_silu #(
  parameter int unsigned Lanes = 4  // (h1, h3) pairs per beat (>= 1)
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,       // synchronous reset, active low
  // Input stream: Lanes pairs (h1, h3) of int32 Q16.16.
  input  logic                  in_valid_i,
  output logic                  in_ready_o,   // = ~out_valid_o | out_ready_i (combinational)
  input  logic [Lanes*32-1:0]   in_h1_i,      // lane i: h1 at [i*32 +: 32] (W1 row)
  input  logic [Lanes*32-1:0]   in_h3_i,      // lane i: h3 at [i*32 +: 32] (W3 row)
  // Output stream, 9 cycles after the input: silu(h1) * h3, int32 Q16.16.
  output logic                  out_valid_o,  // registered; low after reset
  input  logic                  out_ready_i,
  output logic [Lanes*32-1:0]   out_data_o    // registered; undefined while !out_valid_o
);

  `include "tp_tables.svh"
  `include "tp_sigmoid_table.svh"

  localparam int unsigned Latency = 9;  // pipeline stages, input to output register

  // ------------------------------------------------------ parameter check ---
  if (Lanes == 0) begin : gen_lanes_check
    $error("tp_silu: Lanes must be >= 1");
  end
  if (TpSigmoidTableEntries != 65 || TpSigmoidTableWidth != 17) begin : gen_table_check
    $error("tp_silu: expects the 65-entry, 17-bit sigmoid table of golden/int/tables.cpp");
  end

  // ------------------------------------------------------------- control ---
  logic               en;       // every pipeline stage advances at this edge
  logic [Latency-1:0] valid_q;  // valid_q[s-1]: stage s holds a beat

  assign en = ~valid_q[Latency-1] | out_ready_i;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      valid_q <= '0;
    end else if (en) begin
      valid_q <= {valid_q[Latency-2:0], in_valid_i};
    end
  end

  assign in_ready_o  = en;
  assign out_valid_o = valid_q[Latency-1];

  // ------------------------------------------------ datapath (no reset) ---
  for (genvar i = 0; i < Lanes; i++) begin : gen_lane
    // Stage 1: |t|, segment and saturation.
    logic [31:0] h1, h3;
    logic        neg;          // t < 0, i.e. h1 < -8
    logic [31:0] folded;       // h1, or ~h1 = -h1 - 1 when t < 0; >= -8
    /* verilator lint_off UNUSEDSIGNAL */  // bits [3:0]: below the rounding point of t
    logic [31:0] biased;       // folded + 8, in [0, 2^31 + 7]
    /* verilator lint_on UNUSEDSIGNAL */
    logic [27:0] mag;          // |t|
    logic [6:0]  k_q1;
    logic [8:0]  r_q1;
    logic        neg_q1, sat_hi_q1, sat_lo_q1;
    logic [31:0] h1_q1, h3_q1;

    assign h1     = in_h1_i[i*32 +: 32];
    assign h3     = in_h3_i[i*32 +: 32];
    assign neg    = h1[31] & ~(&h1[30:3]);
    assign folded = h1 ^ {32{neg}};
    assign biased = folded + 32'd8;  // wraps to h1 + 8 for -8 <= h1 < 0
    assign mag    = biased[31:4];

    always_ff @(posedge clk_i) begin
      if (en) begin
        k_q1      <= mag[15:9];
        r_q1      <= mag[8:0];
        neg_q1    <= neg;
        sat_hi_q1 <= ~neg & (|mag[27:15]);                          // t > 32767
        sat_lo_q1 <= neg & ((|mag[27:16]) | (mag[15] & (|mag[14:0])));  // t < -32768
        h1_q1     <= h1;
        h3_q1     <= h3;
      end
    end

    // Stage 2: table ROM, registered.
    logic [6:0]  k_next;
    logic [16:0] a_q2, b_q2;
    logic [8:0]  r_q2;
    logic        neg_q2, sat_hi_q2, sat_lo_q2;
    logic [31:0] h1_q2, h3_q2;

    assign k_next = (k_q1 == 7'd64) ? 7'd64 : k_q1 + 7'd1;

    always_ff @(posedge clk_i) begin
      if (en) begin
        a_q2      <= tp_sigmoid_table_entry(k_q1);
        b_q2      <= tp_sigmoid_table_entry(k_next);
        r_q2      <= r_q1;
        neg_q2    <= neg_q1;
        sat_hi_q2 <= sat_hi_q1;
        sat_lo_q2 <= sat_lo_q1;
        h1_q2     <= h1_q1;
        h3_q2     <= h3_q1;
      end
    end

    // Stage 3: slope times the position in the segment (DSP 1).
    logic signed [17:0] slope;
    logic signed [27:0] m_q3;
    logic signed [17:0] base_q3;
    logic               neg_q3, sat_hi_q3, sat_lo_q3;
    logic        [31:0] h1_q3, h3_q3;

    assign slope = $signed({1'b0, b_q2}) - $signed({1'b0, a_q2});

    always_ff @(posedge clk_i) begin
      if (en) begin
        m_q3      <= slope * $signed({1'b0, r_q2});
        base_q3   <= neg_q2 ? 18'sd65536 - $signed({1'b0, a_q2}) : $signed({1'b0, a_q2});
        neg_q3    <= neg_q2;
        sat_hi_q3 <= sat_hi_q2;
        sat_lo_q3 <= sat_lo_q2;
        h1_q3     <= h1_q2;
        h3_q3     <= h3_q2;
      end
    end

    // Stage 4: sigma.
    /* verilator lint_off UNUSEDSIGNAL */  // bits below the rounding point, redundant sign bits
    logic signed [27:0] m_rounded;
    logic signed [17:0] sigma;  // in [0, 65536]
    /* verilator lint_on UNUSEDSIGNAL */
    logic signed [17:0] interp;
    logic        [16:0] sigma_q4;
    logic               sat_hi_q4, sat_lo_q4;
    logic        [31:0] h1_q4, h3_q4;

    assign m_rounded = m_q3 + 28'sd256;
    assign interp    = m_rounded[26:9];
    assign sigma     = neg_q3 ? base_q3 - interp : base_q3 + interp;

    always_ff @(posedge clk_i) begin
      if (en) begin
        sigma_q4  <= sigma[16:0];
        sat_hi_q4 <= sat_hi_q3;
        sat_lo_q4 <= sat_lo_q3;
        h1_q4     <= h1_q3;
        h3_q4     <= h3_q3;
      end
    end

    // Stage 5: h1 * sigma (DSP 2).
    logic signed [38:0] p1_q5;
    logic               sat_hi_q5, sat_lo_q5;
    logic        [31:0] h1_q5, h3_q5;

    always_ff @(posedge clk_i) begin
      if (en) begin
        p1_q5     <= $signed(h1_q4[20:0]) * $signed({1'b0, sigma_q4});
        sat_hi_q5 <= sat_hi_q4;
        sat_lo_q5 <= sat_lo_q4;
        h1_q5     <= h1_q4;
        h3_q5     <= h3_q4;
      end
    end

    // Stage 6: silu.
    /* verilator lint_off UNUSEDSIGNAL */  // bits [15:0]: below the rounding point of silu
    logic signed [38:0] p1_rounded;
    /* verilator lint_on UNUSEDSIGNAL */
    logic        [31:0] silu_q6, h3_q6;

    assign p1_rounded = p1_q5 + 39'sd32768;

    always_ff @(posedge clk_i) begin
      if (en) begin
        if (sat_hi_q5) begin
          silu_q6 <= h1_q5;
        end else if (sat_lo_q5) begin
          silu_q6 <= '0;
        end else begin
          silu_q6 <= {{9{p1_rounded[38]}}, p1_rounded[38:16]};
        end
        h3_q6 <= h3_q5;
      end
    end

    // Stage 7: silu * h3 as four partial products (DSPs 3 to 6).
    logic signed [17:0] xl, xh;  // silu[16:0] unsigned, silu[31:17] signed
    logic signed [26:0] yl;      // h3[25:0] unsigned
    logic signed [5:0]  yh;      // h3[31:26] signed
    // The products keep the multipliers' full widths; their redundant sign
    // bits and pp0's bits below the rounding point are not read.
    /* verilator lint_off UNUSEDSIGNAL */
    logic signed [44:0] pp0_q7;  // xl * yl + 2^15, < 2^44
    logic signed [44:0] pp1_q7;  // xh * yl, |.| < 2^40
    logic signed [23:0] pp2_q7;  // xl * yh, |.| <= 2^22
    logic signed [23:0] pp3_q7;  // xh * yh, |.| <= 2^19
    /* verilator lint_on UNUSEDSIGNAL */

    assign xl = $signed({1'b0, silu_q6[16:0]});
    assign xh = $signed({{3{silu_q6[31]}}, silu_q6[31:17]});
    assign yl = $signed({1'b0, h3_q6[25:0]});
    assign yh = $signed(h3_q6[31:26]);

    always_ff @(posedge clk_i) begin
      if (en) begin
        pp0_q7 <= yl * xl + 45'sd32768;
        pp1_q7 <= yl * xh;
        pp2_q7 <= yh * xl;
        pp3_q7 <= yh * xh;
      end
    end

    // Stage 8: two partial sums in units of 2^16.
    logic signed [43:0] sa_q8;  // (xl*yl + 2^15) >> 16 + 2 xh*yl
    logic signed [47:0] sb_q8;  // 2^10 xl*yh + 2^27 xh*yh

    always_ff @(posedge clk_i) begin
      if (en) begin
        sa_q8 <= $signed({16'd0, pp0_q7[43:16]}) + $signed({pp1_q7[42:0], 1'b0});
        sb_q8 <= $signed({{14{pp2_q7[23]}}, pp2_q7, 10'd0})
               + $signed({pp3_q7[20:0], 27'd0});
      end
    end

    // Stage 9: final sum and saturation to int32.
    logic signed [47:0] total;
    logic        [31:0] out_q9;

    assign total = $signed({{4{sa_q8[43]}}, sa_q8}) + sb_q8;

    always_ff @(posedge clk_i) begin
      if (en) begin
        if (total[47:31] == {17{total[47]}}) begin
          out_q9 <= total[31:0];
        end else begin
          out_q9 <= {total[47], {31{~total[47]}}};
        end
      end
    end

    assign out_data_o[i*32 +: 32] = out_q9;
  end

  // ----------------------------------------------------------- assertions ---
  // Immediate assertions (Verilator --assert): the handshake rules of both ports.
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(Lanes*64), .Name("tp_silu in")) u_in_check (
    .clk_i, .rst_ni, .valid_i(in_valid_i), .ready_i(in_ready_o), .data_i({in_h3_i, in_h1_i})
  );
  tp_stream_checker #(.Width(Lanes*32), .Name("tp_silu out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i), .data_i(out_data_o)
  );
`endif

endmodule
