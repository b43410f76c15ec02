// tp_reciprocal: floor(2^NumExp / d), pipelined, one division per cycle: the
// 1 / l of the attention engine's normalisation (golden tp::fx::attention:
// inverse = floor(2^46 / l), l > 2^15, so the quotient fits 32 bits).
//
// Restoring division, BitsPerStage quotient bits per stage, quotient bits
// QuotientBits-1 .. 0. The partial remainder before the top quotient bit is
// 2^(NumExp - QuotientBits), which is below d exactly when the quotient fits
// QuotientBits bits; each bit: r = 2r; if r >= d then r -= d, q_i = 1 (the
// numerator has no set bit below 2^NumExp, so nothing is shifted in).
// Out of range (d <= 2^(NumExp - QuotientBits), including 0): out_range_o
// and the all-ones quotient.
//
//   latency              Stages = QuotientBits / BitsPerStage cycles (16 by
//                        default): an input accepted at edge k leaves at
//                        edge k + Stages with the sink ready;
//   initiation interval  1;
//   backpressure         the whole pipeline stalls while the output holds a
//                        beat the sink does not take: in_ready_o =
//                        !out_valid_o || out_ready_i (combinational).
// The user sideband travels with its beat. Synchronous reset on the valid
// flops only.
// Resources: Stages x BitsPerStage subtract-compares of DivisorWidth + 1 bits,
// Stages x (remainder, divisor, quotient, user) flops, no DSP.
module tp_reciprocal #(
  parameter int unsigned DivisorWidth = 27,  // bits of d (unsigned), >= 2
  parameter int unsigned NumExp       = 46,  // the numerator 2^NumExp
  parameter int unsigned QuotientBits = 32,  // result bits (<= NumExp)
  parameter int unsigned BitsPerStage = 2,   // quotient bits per pipeline stage, divides QuotientBits
  parameter int unsigned UserWidth    = 1    // sideband bits (>= 1; tie off if unused)
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,        // synchronous reset, active low
  input  logic                    in_valid_i,
  output logic                    in_ready_o,    // = !out_valid_o || out_ready_i
  input  logic [DivisorWidth-1:0] in_d_i,
  input  logic [UserWidth-1:0]    in_user_i,
  output logic                    out_valid_o,
  input  logic                    out_ready_i,
  output logic [QuotientBits-1:0] out_q_o,       // floor(2^NumExp / d), all ones when out of range
  output logic                    out_range_o,   // d <= 2^(NumExp - QuotientBits)
  output logic [UserWidth-1:0]    out_user_o
);

  localparam int unsigned Stages = QuotientBits / BitsPerStage;
  localparam int unsigned RemW   = DivisorWidth + 1;  // 2r < 2d

  // ------------------------------------------------------ parameter check ---
  if (DivisorWidth < 2 || QuotientBits == 0 || QuotientBits > NumExp) begin : gen_width_check
    $error("tp_reciprocal: need DivisorWidth >= 2 and 1 <= QuotientBits <= NumExp");
  end
  if (BitsPerStage == 0 || QuotientBits % BitsPerStage != 0) begin : gen_stage_check
    $error("tp_reciprocal: BitsPerStage must divide QuotientBits");
  end
  if (NumExp - QuotientBits >= DivisorWidth) begin : gen_range_check
    $error("tp_reciprocal: every DivisorWidth-bit d would be out of range");
  end

  // ------------------------------------------------------------- control ---
  logic [Stages-1:0] valid_q;
  logic              enable;

  assign enable      = ~valid_q[Stages-1] | out_ready_i;
  assign in_ready_o  = enable;
  assign out_valid_o = valid_q[Stages-1];

  always_ff @(posedge clk_i) begin
    if (!rst_ni) valid_q <= '0;
    else if (enable) valid_q <= {valid_q[Stages-2:0], in_valid_i};
  end

  // ------------------------------------------------- datapath (no reset) ---
  // Stage s holds the remainder after its bits, the divisor, the quotient so
  // far (bits QuotientBits-1 .. QuotientBits-BitsPerStage*(s+1)), the range
  // flag and the sideband. The last stage's remainder and divisor are not
  // read: the quotient is complete.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [Stages*RemW-1:0]         rem;
  logic [Stages*DivisorWidth-1:0] div;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [Stages*QuotientBits-1:0] quo;
  logic [Stages-1:0]              range;
  logic [Stages*UserWidth-1:0]    user;

  for (genvar s = 0; s < Stages; s++) begin : gen_stage
    logic [RemW-1:0]         r_in, r_out, doubled;
    logic [DivisorWidth-1:0] d_in;
    logic [QuotientBits-1:0] q_in;
    logic                    range_in;
    logic [UserWidth-1:0]    user_in;
    logic [BitsPerStage-1:0] bits;

    if (s == 0) begin : gen_first
      assign r_in     = RemW'(1) << (NumExp - QuotientBits);
      assign d_in     = in_d_i;
      assign q_in     = '0;
      assign range_in = in_d_i <= DivisorWidth'(1) << (NumExp - QuotientBits);
      assign user_in  = in_user_i;
    end else begin : gen_next
      assign r_in     = rem[(s-1)*RemW +: RemW];
      assign d_in     = div[(s-1)*DivisorWidth +: DivisorWidth];
      assign q_in     = quo[(s-1)*QuotientBits +: QuotientBits];
      assign range_in = range[s-1];
      assign user_in  = user[(s-1)*UserWidth +: UserWidth];
    end

    always_comb begin
      r_out   = r_in;
      doubled = '0;
      bits    = '0;
      for (int b = BitsPerStage - 1; b >= 0; b--) begin
        doubled = {r_out[RemW-2:0], 1'b0};
        bits[b] = doubled >= {1'b0, d_in};
        r_out   = bits[b] ? doubled - {1'b0, d_in} : doubled;
      end
    end

    always_ff @(posedge clk_i) begin
      if (enable) begin
        rem[s*RemW +: RemW]                 <= r_out;
        div[s*DivisorWidth +: DivisorWidth] <= d_in;
        quo[s*QuotientBits +: QuotientBits] <= q_in | (QuotientBits'(bits) << (QuotientBits - BitsPerStage * (s + 1)));
        range[s]                            <= range_in;
        user[s*UserWidth +: UserWidth]      <= user_in;
      end
    end
  end

  assign out_range_o = range[Stages-1];
  assign out_q_o     = out_range_o ? '1 : quo[(Stages-1)*QuotientBits +: QuotientBits];
  assign out_user_o  = user[(Stages-1)*UserWidth +: UserWidth];

  // ----------------------------------------------------------- assertions ---
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(DivisorWidth + UserWidth), .Name("tp_reciprocal in")) u_in_check (
    .clk_i, .rst_ni, .valid_i(in_valid_i), .ready_i(in_ready_o), .data_i({in_d_i, in_user_i})
  );
  tp_stream_checker #(.Width(QuotientBits + 1 + UserWidth), .Name("tp_reciprocal out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i), .data_i({out_q_o, out_range_o, out_user_o})
  );
`endif

endmodule
