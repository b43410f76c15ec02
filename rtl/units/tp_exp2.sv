// tp_exp2: the base-2 exponential of softmax, 2^d for d <= 0 (Q16.16), bit
// exact with the golden tp::fx::exp2_neg (golden/int/exp2.cpp).
//
// Each lane takes the magnitude u = -d >= 0 (unsigned, InWidth bits, Q16.16)
// and returns 2^-u in unsigned Q0.16 on 17 bits (65536 = 1.0):
//   n = u >> 16 (integer part, a shift), f = u & 0xFFFF,
//   k = f >> 10 (ROM index), r = f & 1023 (interpolation weight),
//   e = E[k] - (((E[k] - E[k+1]) * r + 512) >> 10)   E = tp_exp2_table (65 x 17)
//   result = round_shift(e, -n) = (e + 2^(n-1)) >> n (round half up), or 0
//   when n > 17.
// Input width: the default 32 bits covers n <= 65535. Any n > 17 gives 0, so
// the unit reads only u[20:0] and a saturation flag (some bit of u above bit
// 20 set, or n in 18..31); every wider magnitude is thereby clamped to the
// zero result. InWidth = 33 takes the full range of m * 2^16 - score of the
// online softmax (tp_online_softmax).
//
// Pipeline (4 register stages, all lanes in step, one clock enable):
//   s1  ROM: E[k] and E[k] - E[k+1] (one constant LUT ROM each), r, n, zero
//   s2  product (E[k] - E[k+1]) * r: 10 x 10 bits unsigned (one DSP48E2 each)
//   s3  e = E[k] - ((product + 512) >> 10)
//   s4  rounding shift: n = 0 -> e, else ((e >> (n-1)) + 1) >> 1, which
//       equals (e + 2^(n-1)) >> n; 0 when the zero flag is set
//   latency              4 cycles: a beat accepted at edge k leaves at edge
//                        k+4 when the sink is ready;
//   initiation interval  1 beat per cycle per lane;
//   backpressure         the whole pipeline stalls while the output holds a
//                        beat the sink does not take: in_ready_o =
//                        !out_valid_o || out_ready_i (combinational from
//                        out_ready_i; put a tp_stream_register in front where
//                        a registered ready is needed).
// The user sideband travels with its beat unchanged (tags of the caller).
// Synchronous active-low reset on the 4 valid flops only; datapath flops,
// ROM outputs and the DSP have no reset.
// Resources per lane: one DSP48E2 (10 x 10 product), a 6-input LUT ROM of
// 17 + 10 bits, a 17-bit subtractor and a 17-bit rounding shifter;
// UserWidth x 4 sideband flops shared by all lanes.
module tp_exp2 #(
  parameter int unsigned Lanes     = 1,   // independent exponentials per beat (>= 1)
  parameter int unsigned InWidth   = 32,  // bits of each magnitude u = -d, Q16.16 (>= 21)
  parameter int unsigned UserWidth = 1    // sideband bits carried with each beat (>= 1; tie off if unused)
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,       // synchronous reset, active low
  // Input stream: Lanes magnitudes u = -d, lane i at [i*InWidth +: InWidth].
  input  logic                     in_valid_i,
  output logic                     in_ready_o,   // = !out_valid_o || out_ready_i
  input  logic [Lanes*InWidth-1:0] in_mag_i,
  input  logic [UserWidth-1:0]     in_user_i,
  // Output stream, 4 cycles after the input: 2^-u in Q0.16, lane i at [i*17 +: 17].
  output logic                     out_valid_o,  // registered; low after reset
  input  logic                     out_ready_i,
  output logic [Lanes*17-1:0]      out_data_o,   // registered; undefined while !out_valid_o
  output logic [UserWidth-1:0]     out_user_o    // registered; in_user_i of the same beat
);

  `include "tp_exp2_table.svh"

  // ------------------------------------------------------ parameter check ---
  if (Lanes == 0) begin : gen_lanes_check
    $error("tp_exp2: Lanes must be >= 1");
  end
  if (InWidth < 21) begin : gen_in_width_check
    $error("tp_exp2: InWidth must be >= 21 (16 fraction bits + 5 bits of n)");
  end
  if (UserWidth == 0) begin : gen_user_width_check
    $error("tp_exp2: UserWidth must be >= 1");
  end

  localparam int unsigned Stages = 4;

  // ------------------------------------------------------------- control ---
  logic [Stages-1:0] valid_q;  // valid_q[s]: stage s+1 holds a beat
  logic              enable;   // every stage advances at this edge

  assign enable     = ~valid_q[Stages-1] | out_ready_i;
  assign in_ready_o = enable;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      valid_q <= '0;
    end else if (enable) begin
      valid_q <= {valid_q[Stages-2:0], in_valid_i};
    end
  end

  // ------------------------------------------------------ user sideband ---
  // A shift register of Stages words: the word of stage s at [s*UserWidth +: UserWidth].
  logic [Stages*UserWidth-1:0] user_q;

  always_ff @(posedge clk_i) begin
    if (enable) begin
      user_q <= {user_q[(Stages-1)*UserWidth-1:0], in_user_i};
    end
  end

  // ------------------------------------------------- datapath (no reset) ---
  for (genvar i = 0; i < Lanes; i++) begin : gen_lane
    logic [InWidth-1:0] mag;
    logic [6:0]         index;    // k, the ROM index (0..63; k + 1 <= 64)
    logic               zero_d;   // n > 17: the result is 0
    logic [16:0]        ek_d, e_d, result_d;
    // s1: ROM outputs and the fields of u.
    logic [16:0]        s1_ek_q;
    logic [9:0]         s1_step_q, s1_r_q;  // E[k] - E[k+1] <= 706; r
    logic [4:0]         s1_n_q;
    logic               s1_zero_q;
    // s2: interpolation product.
    logic [19:0]        s2_prod_q;
    logic [16:0]        s2_ek_q;
    logic [4:0]         s2_n_q;
    logic               s2_zero_q;
    // s3: interpolated e in Q0.16 (E[k+1] <= e <= E[k]).
    logic [16:0]        s3_e_q;
    logic [4:0]         s3_n_q;
    logic               s3_zero_q;
    // Intermediate results at the width of their arithmetic; the bits not
    // read are known zero (step <= 706 < 2^10, correction <= 705) or dropped
    // by design (the LSB of halved_d is the final halving).
    /* verilator lint_off UNUSEDSIGNAL */
    logic [16:0]        step_d;        // E[k] - E[k+1]
    logic [19:0]        correction_d;  // ((E[k] - E[k+1]) * r + 512) >> 10
    logic [17:0]        halved_d;      // (e >> (n-1)) + 1
    /* verilator lint_on UNUSEDSIGNAL */
    // s4: the result.
    logic [16:0]        s4_q;

    assign mag    = in_mag_i[i*InWidth +: InWidth];
    assign index  = {1'b0, mag[15:10]};
    // Saturation: n >= 32 (any bit above bit 20) or n in 18..31.
    assign zero_d = (|(mag >> 21)) | (mag[20:16] > 5'd17);
    assign ek_d   = tp_exp2_table_entry(index);
    assign step_d = ek_d - tp_exp2_table_entry(index + 7'd1);

    always_ff @(posedge clk_i) begin
      if (enable) begin
        s1_ek_q   <= ek_d;
        s1_step_q <= step_d[9:0];
        s1_r_q    <= mag[9:0];
        s1_n_q    <= mag[20:16];
        s1_zero_q <= zero_d;
      end
    end

    always_ff @(posedge clk_i) begin
      if (enable) begin
        s2_prod_q <= s1_step_q * s1_r_q;
        s2_ek_q   <= s1_ek_q;
        s2_n_q    <= s1_n_q;
        s2_zero_q <= s1_zero_q;
      end
    end

    assign correction_d = (s2_prod_q + 20'd512) >> 10;
    assign e_d          = s2_ek_q - correction_d[16:0];

    always_ff @(posedge clk_i) begin
      if (enable) begin
        s3_e_q    <= e_d;
        s3_n_q    <= s2_n_q;
        s3_zero_q <= s2_zero_q;
      end
    end

    assign halved_d = {1'b0, s3_e_q >> (s3_n_q - 5'd1)} + 18'd1;
    always_comb begin
      if (s3_zero_q) begin
        result_d = '0;
      end else if (s3_n_q == 5'd0) begin
        result_d = s3_e_q;
      end else begin
        result_d = halved_d[17:1];
      end
    end

    always_ff @(posedge clk_i) begin
      if (enable) begin
        s4_q <= result_d;
      end
    end

    assign out_data_o[i*17 +: 17] = s4_q;
  end

  assign out_valid_o = valid_q[Stages-1];
  assign out_user_o  = user_q[(Stages-1)*UserWidth +: UserWidth];

  // ----------------------------------------------------------- assertions ---
  // Immediate assertions (Verilator --assert): the handshake rules of both ports.
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(UserWidth + Lanes*InWidth), .Name("tp_exp2 in")) u_in_check (
    .clk_i, .rst_ni, .valid_i(in_valid_i), .ready_i(in_ready_o), .data_i({in_user_i, in_mag_i})
  );
  tp_stream_checker #(.Width(UserWidth + Lanes*17), .Name("tp_exp2 out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i), .data_i({out_user_o, out_data_o})
  );
`endif

endmodule
