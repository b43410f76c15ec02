// tp_cordic_sqrt: square root by hyperbolic CORDIC in vectoring mode, bit
// exact with the golden tp::fx::cordic_sqrt (golden/int/cordic.h), which
// states the error bound (|r - sqrt(v)| < 0.84 LSB: r is floor or ceil).
//
// One root per beat: v (uint64, e.g. a Q32 mean square) -> r = sqrt(v) as a
// uint32 (Q16 for a Q32 input), saturated to 2^32 - 1; v = 0 gives 0.
//   1. normalise by an even shift: j = index of the leading non-zero bit pair
//      of v (0..31), w = bits [2j+1 : 2j-38] of v (zeros below bit 0), so
//      w * 2^-40 in [1/4, 1): a leading-pair detector and a 32-way window mux;
//   2. x = w + 2^38, y = w - 2^38 (Q40, x^2 - y^2 = w), then 19 micro-
//      rotations with shifts 1, 2, 3, 4, 4, 5, .., 13, 13, 14, .., 17:
//        y >= 0: x, y = x - (y >>> s), y - (x >> s)
//        y <  0: x, y = x + (y >>> s), y + (x >> s)
//      The first rotation always sees y = w - 2^38 >= 0, and then reduces to
//      h = w - (w >> 1), x = h + 3*2^37, y = h - 3*2^37 (the 2^38 offsets
//      halve exactly), computed in the window stage. After it x < 2^40
//      (x only falls) and |y| < 2^39 (|y'| <= max(|y|, x >> s)): x and y are
//      40-bit registers, y two's complement, all adds modulo 2^40;
//   3. P = x * G, G = 10372320832 = round(2^33 / K) (tp::fx::kCordicGain,
//      derived there from the shifts), as four DSP products of at most
//      26 x 17 unsigned bits: x = {xh (14), xl (26)}, G = {gh (17), gl (17)};
//   4. r = round_shift(P, -(72 - j)) = ((T >> (31 - j)) + 1) >> 1 with
//      T = P >> 40 (34 bits; the bits below bit 72 - j - 1 never change a
//      round-half-up result), saturated to 2^32 - 1.
//
// Pipeline (24 register stages, one clock enable for all):
//   s1      input register: v, leading-pair index j, zero flag
//   s2      window mux and the first micro-rotation (shift 1)
//   s3-s20  the other 18 micro-rotations, one per stage
//   s21     the four partial products x * G (DSP48E2)
//   s22     two partial sums: xl * G and xh * G
//   s23     T = (xl * G + (xh * G << 26)) >> 40
//   s24     rounding shift by 31 - j, saturation, zero
//   latency              24 cycles: a beat accepted at edge k leaves at
//                        edge k+24 when the sink is ready;
//   initiation interval  1 beat per cycle;
//   backpressure         the whole pipeline stalls while the output holds a
//                        beat the sink does not take: in_ready_o =
//                        !out_valid_o || out_ready_i (combinational from
//                        out_ready_i; put a tp_stream_register in front where
//                        a registered ready is needed).
// The user sideband travels with its beat unchanged (tags of the caller).
// Synchronous active-low reset on the 24 valid flops only; datapath flops
// and the DSPs have no reset.
// Resources: 4 DSP48E2 (the gain multiply); 19 x 2 40-bit add/subtract
// (carry chains) and about 19 x 80 rotation flops; a 64-bit leading-pair detector,
// a 40-bit 32-way window mux, the 74-bit partial-product sums and a 34-bit
// rounding shifter in LUTs; j, zero and user ride a shift register (SRLs).
module tp_cordic_sqrt #(
  parameter int unsigned UserWidth = 1  // sideband bits carried with each beat (>= 1; tie off if unused)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,       // synchronous reset, active low
  // Input stream: v, unsigned (a Q32 mean square for a Q16 root).
  input  logic                 in_valid_i,
  output logic                 in_ready_o,   // = !out_valid_o || out_ready_i
  input  logic [63:0]          in_data_i,
  input  logic [UserWidth-1:0] in_user_i,
  // Output stream, 24 cycles after the input: sqrt(v), uint32 (Q16 for Q32 v).
  output logic                 out_valid_o,  // registered; low after reset
  input  logic                 out_ready_i,
  output logic [31:0]          out_data_o,   // registered; undefined while !out_valid_o
  output logic [UserWidth-1:0] out_user_o    // registered; in_user_i of the same beat
);

  // ------------------------------------------------------ parameter check ---
  if (UserWidth == 0) begin : gen_user_width_check
    $error("tp_cordic_sqrt: UserWidth must be >= 1");
  end

  localparam int unsigned Stages    = 24;             // register stages = latency
  localparam int unsigned Rotations = 19;             // micro-rotations (17 shifts, 4 and 13 twice)
  localparam int unsigned SideWidth = UserWidth + 6;  // {user, zero, j} of a beat
  // The gain constant G = round(2^33 / K) of tp::fx::kCordicGain, in two halves.
  localparam logic [16:0] GainLo    = 17'h10e40;       // G[16:0]  = 69184
  localparam logic [16:0] GainHi    = 17'h1351e;       // G[33:17] = 79134

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

  // --------------------------------------------- sideband: user, zero, j ---
  // A shift register of Stages words; the word of stage s+1 at [s*SideWidth +: SideWidth].
  logic [4:0]                  lead_pair;  // j: the highest non-zero bit pair of in_data_i
  logic [Stages*SideWidth-1:0] side_q;

  always_comb begin
    lead_pair = '0;
    for (int p = 0; p < 32; p++) begin
      if (in_data_i[2*p +: 2] != 2'b00) lead_pair = 5'(p);
    end
  end

  always_ff @(posedge clk_i) begin
    if (enable) begin
      side_q <= {side_q[(Stages-1)*SideWidth-1:0], in_user_i, in_data_i == 64'd0, lead_pair};
    end
  end

  // ------------------------------------------------- datapath (no reset) ---
  // s1: the input.
  logic [63:0] v_q;

  always_ff @(posedge clk_i) begin
    if (enable) begin
      v_q <= in_data_i;
    end
  end

  // s2: window w = ({v, 38'b0} >> 2j)[39:0] and the first micro-rotation.
  logic [4:0]   j1;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [101:0] window_wide;  // only the low 40 bits are the window
  /* verilator lint_on UNUSEDSIGNAL */
  logic [39:0]  window, half_up;

  assign j1          = side_q[0 +: 5];
  assign window_wide = {v_q, 38'b0} >> {j1, 1'b0};
  assign window      = window_wide[39:0];
  assign half_up     = window - (window >> 1);  // ceil(w / 2), in [2^37, 2^39]

  // x and y after each micro-rotation: rotation k at [k*40 +: 40].
  logic [Rotations*40-1:0] x_chain;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [Rotations*40-1:0] y_chain;  // the last y (the residual) is not read
  /* verilator lint_on UNUSEDSIGNAL */
  logic [39:0]             x1_q, y1_q;

  always_ff @(posedge clk_i) begin
    if (enable) begin
      x1_q <= half_up + 40'h60_0000_0000;  // + 3*2^37
      y1_q <= half_up - 40'h60_0000_0000;  // - 3*2^37, in [-2^38, 2^37]
    end
  end

  assign x_chain[0 +: 40] = x1_q;
  assign y_chain[0 +: 40] = y1_q;

  // s3..s20: micro-rotation k = 1..18 with shift k + 1 - (k >= 4) - (k >= 14).
  // Each update is one adder with a carry-in: a - b = a + ~b + 1.
  for (genvar k = 1; k < Rotations; k++) begin : gen_rotation
    localparam int unsigned Shift = k + 1 - (k >= 4 ? 1 : 0) - (k >= 14 ? 1 : 0);
    logic        [39:0] x, x_shifted, x_q, y_q;
    logic signed [39:0] y, y_shifted;
    logic               subtract;  // y >= 0: x - (y >>> s), y - (x >> s)

    assign x         = x_chain[(k-1)*40 +: 40];
    assign y         = y_chain[(k-1)*40 +: 40];
    assign x_shifted = x >> Shift;
    assign y_shifted = y >>> Shift;
    assign subtract  = ~y[39];

    always_ff @(posedge clk_i) begin
      if (enable) begin
        x_q <= x + (y_shifted ^ {40{subtract}}) + {39'b0, subtract};
        y_q <= y + (x_shifted ^ {40{subtract}}) + {39'b0, subtract};
      end
    end

    assign x_chain[k*40 +: 40] = x_q;
    assign y_chain[k*40 +: 40] = y_q;
  end

  // s21: partial products of x * G, each <= 26 x 17 bits (one DSP48E2 each).
  logic [39:0] x_end;
  logic [42:0] prod_ll_q, prod_lh_q;  // xl * gl, xl * gh
  logic [30:0] prod_hl_q, prod_hh_q;  // xh * gl, xh * gh

  assign x_end = x_chain[(Rotations-1)*40 +: 40];

  always_ff @(posedge clk_i) begin
    if (enable) begin
      prod_ll_q <= x_end[25:0] * GainLo;
      prod_lh_q <= x_end[25:0] * GainHi;
      prod_hl_q <= x_end[39:26] * GainLo;
      prod_hh_q <= x_end[39:26] * GainHi;
    end
  end

  // s22: xl * G (60 bits) and xh * G (48 bits).
  logic [59:0] sum_lo_q;
  logic [47:0] sum_hi_q;

  always_ff @(posedge clk_i) begin
    if (enable) begin
      sum_lo_q <= {prod_lh_q, 17'b0} + {17'b0, prod_ll_q};
      sum_hi_q <= {prod_hh_q, 17'b0} + {17'b0, prod_hl_q};
    end
  end

  // s23: T = P >> 40, P = x * G < 2^74.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [73:0] product;  // the low 40 bits only carry into T
  /* verilator lint_on UNUSEDSIGNAL */
  logic [33:0] t_q;

  assign product = {sum_hi_q, 26'b0} + {14'b0, sum_lo_q};

  always_ff @(posedge clk_i) begin
    if (enable) begin
      t_q <= product[73:40];
    end
  end

  // s24: r = ((T >> (31 - j)) + 1) >> 1, saturated; 0 for v = 0.
  logic [4:0]  j23;
  logic        zero23;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [34:0] rounded;  // bit 0 is the halving
  /* verilator lint_on UNUSEDSIGNAL */
  logic [31:0] result_d, result_q;

  assign j23     = side_q[22*SideWidth +: 5];
  assign zero23  = side_q[22*SideWidth + 5];
  assign rounded = {1'b0, t_q >> (5'd31 - j23)} + 35'd1;

  always_comb begin
    if (zero23) begin
      result_d = '0;
    end else if (rounded[34:33] != 2'b00) begin
      result_d = '1;
    end else begin
      result_d = rounded[32:1];
    end
  end

  always_ff @(posedge clk_i) begin
    if (enable) begin
      result_q <= result_d;
    end
  end

  assign out_valid_o = valid_q[Stages-1];
  assign out_data_o  = result_q;
  assign out_user_o  = side_q[(Stages-1)*SideWidth + 6 +: UserWidth];

  // ----------------------------------------------------------- assertions ---
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(UserWidth + 64), .Name("tp_cordic_sqrt in")) u_in_check (
    .clk_i, .rst_ni, .valid_i(in_valid_i), .ready_i(in_ready_o), .data_i({in_user_i, in_data_i})
  );
  tp_stream_checker #(.Width(UserWidth + 32), .Name("tp_cordic_sqrt out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i), .data_i({out_user_o, out_data_o})
  );
`endif

endmodule
