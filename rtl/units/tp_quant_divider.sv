// tp_quant_divider: the exact rounding division of the INT8 activation
// quantizers (tp_act_quant, tp_head_quant), Lanes lanes sharing one divisor.
// Per lane, with a magnitude m <= A and its sign:
//   q = sign * round_half_away(127 m / A) = sign * ((u + 1) >> 1),
//   u = floor(254 m / A) in [0, 254]   (floor((x + 1) / 2) = floor((floor(x) + 1) / 2)),
// and q = 0 for A = 0: exactly tp::fx::div_round_away(127 z, A) of
// golden/int/quantize.cpp. u comes from an 8-step non-restoring divider
// (p' = 2p + bit -/+ A by the sign of p, one adder per step), two steps per
// pipeline stage.
//
// Timing: 6 register stages, R (N = 254 m), D1..D4 (two divider steps each)
// and O (round, sign), all advancing together on en_i: the operands present at
// an enabled edge leave on q_o after the 6th enabled edge from it (latency 6,
// II 1 while en_i is high). No flow control and no reset: the parent tracks
// which stages hold data (valid bits beside this pipeline) and stalls it with
// en_i.
//
// Resources per lane: the (MagWidth+8)-bit 254 m subtractor and eight
// (MagWidth+2)-bit add/subtract steps (LUT + carry); the divisor travels once,
// beside stages R..D4, for all lanes.
module tp_quant_divider #(
  parameter int unsigned Lanes    = 16,  // lanes sharing the divisor (>= 1)
  parameter int unsigned MagWidth = 48   // bits of a magnitude and of the divisor (unsigned), 2..60
) (
  input  logic                      clk_i,
  input  logic                      en_i,    // advance every stage
  input  logic [Lanes*MagWidth-1:0] mag_i,   // lane i at [i*MagWidth +: MagWidth], m <= a_i
  input  logic [Lanes-1:0]          neg_i,   // sign of lane i's value
  input  logic [MagWidth-1:0]       a_i,     // divisor A (the group maximum), shared by all lanes
  output logic [Lanes*8-1:0]        q_o      // lane i at [i*8 +: 8], int8 in [-127, 127]; latency 6
);

  localparam int unsigned NW = MagWidth + 8;  // 254 * m
  localparam int unsigned PW = MagWidth + 1;  // remainder, signed

  if (Lanes < 1 || MagWidth < 2 || MagWidth > 60) begin : gen_param_check
    $error("tp_quant_divider: Lanes must be >= 1 and MagWidth in [2, 60]");
  end

  // The divisor beside stages R..D4 (shared by the lanes).
  logic [MagWidth-1:0] a0_q, a1_q, a2_q, a3_q, a4_q;
  always_ff @(posedge clk_i) begin
    if (en_i) begin
      a0_q <= a_i;
      a1_q <= a0_q;
      a2_q <= a1_q;
      a3_q <= a2_q;
      a4_q <= a3_q;
    end
  end

  // Divisor of the steps of D1..D4 (A of the stage before), one bit wider so
  // that it is non-negative as a signed number.
  logic [MagWidth:0] a_ext0, a_ext1, a_ext2, a_ext3;
  assign a_ext0 = {1'b0, a0_q};
  assign a_ext1 = {1'b0, a1_q};
  assign a_ext2 = {1'b0, a2_q};
  assign a_ext3 = {1'b0, a3_q};

  logic a_zero;
  assign a_zero = a4_q == '0;

  function automatic logic [PW-1:0] div_step(input logic [PW-1:0] p, input logic nbit, input logic [MagWidth:0] a);
    logic          sub;
    // sum[0] only carries the subtract's +1 in, sum[PW+1] is the discarded top bit.
    /* verilator lint_off UNUSEDSIGNAL */
    logic [PW+1:0] sum;
    /* verilator lint_on UNUSEDSIGNAL */
    sub      = ~p[PW-1];
    sum      = {p, nbit, 1'b1} + {{1'b0, a} ^ {(PW+1){sub}}, sub};
    div_step = sum[PW:1];
  endfunction

  for (genvar i = 0; i < Lanes; i++) begin : gen_lane
    logic [MagWidth-1:0] m;
    logic                sgn;
    assign m   = mag_i[i*MagWidth +: MagWidth];
    assign sgn = neg_i[i];

    // R: N = 254 m = 256 m - 2 m.
    logic [NW-1:0] n_r_q;
    logic          sgn_r_q;
    // D1..D4: remainder p (signed, in [-A, A)), quotient bits so far, the
    // low bits of N still to be brought down, sign of the value.
    logic signed [PW-1:0] p1_q, p2_q, p3_q, p4_q;
    logic [1:0]  u1_q;
    logic [3:0]  u2_q;
    logic [5:0]  u3_q;
    logic [7:0]  u4_q;
    logic [5:0]  n1_q;
    logic [3:0]  n2_q;
    logic [1:0]  n3_q;
    logic        sgn1_q, sgn2_q, sgn3_q, sgn4_q;
    logic [7:0]  q_q;

    // The first step subtracts A from N's top bits (N < 256 A, so u < 256).
    logic signed [PW-1:0] s7, s6, s5, s4, s3, s2, s1, s0;
    logic signed [PW:0]   first;
    assign first = $signed({1'b0, n_r_q[NW-1:7]}) - $signed({1'b0, a_ext0});
    assign s7 = first[PW-1:0];
    assign s6 = div_step(s7, n_r_q[6], a_ext0);
    assign s5 = div_step(p1_q, n1_q[5], a_ext1);
    assign s4 = div_step(s5, n1_q[4], a_ext1);
    assign s3 = div_step(p2_q, n2_q[3], a_ext2);
    assign s2 = div_step(s3, n2_q[2], a_ext2);
    assign s1 = div_step(p3_q, n3_q[1], a_ext3);
    assign s0 = div_step(s1, n3_q[0], a_ext3);

    // O: q = (u + 1) >> 1, signed; 0 for A = 0.
    logic [7:0] u_round, q_mag;
    assign u_round = u4_q + 8'd1;
    assign q_mag   = {1'b0, u_round[7:1]};

    always_ff @(posedge clk_i) begin
      if (en_i) begin
        n_r_q   <= {m, 8'b0} - {7'b0, m, 1'b0};
        sgn_r_q <= sgn;
        p1_q    <= s6;
        u1_q    <= {~s7[PW-1], ~s6[PW-1]};
        n1_q    <= n_r_q[5:0];
        sgn1_q  <= sgn_r_q;
        p2_q    <= s4;
        u2_q    <= {u1_q, ~s5[PW-1], ~s4[PW-1]};
        n2_q    <= n1_q[3:0];
        sgn2_q  <= sgn1_q;
        p3_q    <= s2;
        u3_q    <= {u2_q, ~s3[PW-1], ~s2[PW-1]};
        n3_q    <= n2_q[1:0];
        sgn3_q  <= sgn2_q;
        p4_q    <= s0;
        u4_q    <= {u3_q, ~s1[PW-1], ~s0[PW-1]};
        sgn4_q  <= sgn3_q;
        q_q     <= a_zero ? 8'd0 : (sgn4_q ? -q_mag : q_mag);
      end
    end
    assign q_o[i*8 +: 8] = q_q;

    // The final remainder and the sign bits of the wide sums are not needed.
    logic unused_lane;
    assign unused_lane = ^{p4_q, u_round[0], first[PW]};
  end

endmodule
