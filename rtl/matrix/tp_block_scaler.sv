// tp_block_scaler: applies a block's two scales to its dot product and
// accumulates the blocks of an output row, bit-exact with tp::fx::matvec
// (golden/int/quantize.h). One per PE column.
//
// Per block (inputs of one cycle):
//   m     = w.m * x.m                                   (11 x 11 bits)
//   p     = +-(d * m)   (negated for a negative weight scale; |p| < 2^41)
//   s     = w.e + x.e + 24
//   term  = saturate_i64(p * 2^s)                  for s >= 0 (exact up to the limit)
//         = ((p >>> (-s - 1)) + 1) >>> 1           for -41 <= s < 0, i.e. (p + 2^(-s-1)) >> -s
//         = 0                                      for s <= -42 (|p| < 2^41)
//   acc   = first ? term : saturate_i64(acc + term)
//   out   = saturate_i32((acc + 128) >>> 8)        on the row's last block (Q16.16)
// The accumulators of the rows in flight live in a small LUT RAM indexed by
// in_index_i (the engine's pass and token); a row's last block reads its
// accumulator and emits the result instead of writing it back.
//
// Weight scales come as fp16 fields decoded without normalisation: a
// subnormal (exponent field 0) is mantissa f, exponent -24, a normal one
// mantissa 1024 + f, exponent field - 25. The value p * 2^s, hence every
// rounding, is the same as with the golden's normalised mantissa.
//
// No flow control. Latency 4 cycles: a block sampled at edge k has its row
// result on out_value_o, with out_valid_o, after edge k + 3. II 1. A row's
// successive blocks may come on consecutive cycles (the accumulator read,
// add and write happen in one cycle).
//
// Resources: 3 DSP48E2 (the 11 x 11 mantissa product and the 21 x 22 product
// split by Yosys), two 64-bit barrel shifters, a 64-bit saturating adder,
// Depth x 64 bits of LUT RAM.
module tp_block_scaler #(
  parameter int unsigned Depth = 128  // accumulators (rows x tokens in flight), power of two
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,      // synchronous reset, active low (valid bits only)
  input  logic                     in_valid_i,
  input  logic signed [20:0]       in_dot_i,    // the block's dot product d
  input  logic [15:0]              in_w_scale_i,// the block's fp16 weight scale (bits)
  input  logic [10:0]              in_x_mant_i, // activation group scale: mantissa (0: zero scale)
  input  logic signed [15:0]       in_x_exp_i,  // activation group scale: exponent
  input  logic                     in_first_i,  // first block of the row: the accumulator starts
  input  logic                     in_last_i,   // last block of the row: emit the result
  input  logic [$clog2(Depth)-1:0] in_index_i,  // which accumulator
  output logic                     out_valid_o,
  output logic signed [31:0]       out_value_o  // Q16.16
);

  localparam int unsigned IndexW = $clog2(Depth);
  localparam logic signed [63:0] AccMax = {1'b0, {63{1'b1}}};
  localparam logic signed [63:0] AccMin = {1'b1, {63{1'b0}}};

  if (Depth < 2 || (Depth & (Depth - 1)) != 0) begin : gen_depth_check
    $error("tp_block_scaler: Depth must be a power of two >= 2");
  end

  // ------------------------------------------------------- stage 1: scales ---
  logic        w_negative;
  logic [10:0] w_mant;
  logic signed [6:0] w_exp;
  assign w_negative = in_w_scale_i[15];
  assign w_mant     = in_w_scale_i[14:10] == 5'd0 ? {1'b0, in_w_scale_i[9:0]} : {1'b1, in_w_scale_i[9:0]};
  assign w_exp      = in_w_scale_i[14:10] == 5'd0 ? -7'sd24 : $signed({2'b00, in_w_scale_i[14:10]}) - 7'sd25;

  logic               s1_valid_q, s1_first_q, s1_last_q, s1_negative_q;
  logic [IndexW-1:0]  s1_index_q;
  logic signed [20:0] s1_dot_q;
  logic [21:0]        s1_mant_q;   // w.m * x.m
  logic signed [17:0] s1_shift_q;  // w.e + x.e + 24

  always_ff @(posedge clk_i) begin
    if (!rst_ni) s1_valid_q <= 1'b0;
    else         s1_valid_q <= in_valid_i;
  end
  always_ff @(posedge clk_i) begin
    s1_first_q    <= in_first_i;
    s1_last_q     <= in_last_i;
    s1_index_q    <= in_index_i;
    s1_negative_q <= w_negative;
    s1_dot_q      <= in_dot_i;
    s1_mant_q     <= w_mant * in_x_mant_i;
    s1_shift_q    <= {{11{w_exp[6]}}, w_exp} + {{2{in_x_exp_i[15]}}, in_x_exp_i} + 18'sd24;
  end

  // ------------------------------------------------------ stage 2: product ---
  logic               s2_valid_q, s2_first_q, s2_last_q;
  logic [IndexW-1:0]  s2_index_q;
  logic signed [42:0] s2_product_q;  // +-(d * m), |.| < 2^41
  logic signed [17:0] s2_shift_q;
  logic signed [42:0] product;
  assign product = s1_dot_q * $signed({1'b0, s1_mant_q});

  always_ff @(posedge clk_i) begin
    if (!rst_ni) s2_valid_q <= 1'b0;
    else         s2_valid_q <= s1_valid_q;
  end
  always_ff @(posedge clk_i) begin
    s2_first_q   <= s1_first_q;
    s2_last_q    <= s1_last_q;
    s2_index_q   <= s1_index_q;
    s2_product_q <= s1_negative_q ? -product : product;
    s2_shift_q   <= s1_shift_q;
  end

  // --------------------------------------------------------- stage 3: term ---
  logic signed [63:0] p64, term, shifted_left, left_overflow_bits, shifted_right;
  logic [5:0]         left_amount, right_amount;
  assign p64          = {{21{s2_product_q[42]}}, s2_product_q};
  assign left_amount  = s2_shift_q[5:0];                 // used for 0 <= s <= 63
  assign right_amount = ~s2_shift_q[5:0];                // -s - 1, used for -41 <= s <= -1
  assign shifted_left       = p64 <<< left_amount;
  assign left_overflow_bits = p64 >>> (6'd63 - left_amount);  // all sign copies iff the shift fits
  assign shifted_right      = ((p64 >>> right_amount) + 64'sd1) >>> 1;

  always_comb begin
    if (s2_shift_q <= -18'sd42) begin
      term = '0;
    end else if (s2_shift_q < 0) begin
      term = shifted_right;
    end else if (s2_product_q == 0) begin
      term = '0;
    end else if (s2_shift_q > 18'sd63 || (left_overflow_bits != '0 && left_overflow_bits != '1)) begin
      term = s2_product_q < 0 ? AccMin : AccMax;
    end else begin
      term = shifted_left;
    end
  end

  logic               s3_valid_q, s3_first_q, s3_last_q;
  logic [IndexW-1:0]  s3_index_q;
  logic signed [63:0] s3_term_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) s3_valid_q <= 1'b0;
    else         s3_valid_q <= s2_valid_q;
  end
  always_ff @(posedge clk_i) begin
    s3_first_q <= s2_first_q;
    s3_last_q  <= s2_last_q;
    s3_index_q <= s2_index_q;
    s3_term_q  <= term;
  end

  // -------------------------------------------------- stage 4: accumulate ---
  logic [63:0]        acc_mem [Depth];
  logic signed [63:0] acc, sum;
  logic signed [64:0] wide_sum, rounded;
  logic signed [31:0] result;
  assign acc      = s3_first_q ? '0 : $signed(acc_mem[s3_index_q]);
  assign wide_sum = {acc[63], acc} + {s3_term_q[63], s3_term_q};
  // Saturate: the 65-bit sum overflowed int64 when its two top bits differ.
  assign sum      = wide_sum[64] == wide_sum[63] ? wide_sum[63:0] : (wide_sum[64] ? AccMin : AccMax);
  assign rounded  = $signed({sum[63], sum} + 65'sd128) >>> 8;
  // Saturate to int32: in range when bits 64..31 are all sign copies.
  assign result   = (rounded[64:31] == '0 || rounded[64:31] == '1) ? rounded[31:0]
                  : (rounded[64] ? 32'sh80000000 : 32'sh7FFFFFFF);

  always_ff @(posedge clk_i) begin
    if (s3_valid_q && !s3_last_q) acc_mem[s3_index_q] <= sum;
  end

  logic               out_valid_q;
  logic signed [31:0] out_value_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) out_valid_q <= 1'b0;
    else         out_valid_q <= s3_valid_q & s3_last_q;
  end
  always_ff @(posedge clk_i) begin
    out_value_q <= result;
  end

  assign out_valid_o = out_valid_q;
  assign out_value_o = out_value_q;

endmodule
