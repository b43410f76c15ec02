// tp_rsqrt: reciprocal square root of the RMSNorm mean square, bit-exact with
// tp::fx::rsqrt (golden/int/rmsnorm.h):
//   ms (uint64, Q32) -> ScaleFp ~= 1 / sqrt(ms * 2^-32)
//   1. normalise: ms = f * 2^sh, sh even, f in [2^14, 2^16). With j the index
//      of the highest non-zero bit pair of ms, sh = 2j - 14 and f is the
//      16-bit window {ms, 14'b0}[2j+15 : 2j] (a leading-pair detector and a
//      32-way mux);
//   2. seed y0 = tp_rsqrt_seed_table[(f >> 10) - 16] << 15 (48-entry LUT ROM);
//   3. two Newton steps in Q30 with truncating shifts,
//        y2 = y*y >> 30;  t = f*y2 >> 14;  y = y*(3*2^30 - t) >> 31,
//      computed as y + (y*d >> 31), d = 2^30 - t (exact: y*2^31 >> 31 = y);
//   4. ScaleFp: mantissa y >> 19, exponent 5 - j (= -30 + 9 - sh/2 + 19).
// Exhaustive analysis over all 49152 f (the arithmetic depends on f only; the
// testbench re-checks it for every f): seed < 2^15; step 1 has y2 = seed^2
// exactly and |d1| < 2^25; y1 in [2^29, 2^30); step 2 has d2 in [0, 2^20);
// the result y is in [2^29, 2^30), so the normalisation shift is always 19.
// ms = 0 (undefined in the golden model, which throws): out_error_o = 1 with
// the zero scale (mantissa 0, exponent 0).
//
// Stream protocol: valid/ready on both sides; one result per input beat, in
// order. The pipeline is a chain of enabled stages that all advance while the
// output register is empty or being read:
//   in_ready_o = ~out_valid_o | out_ready_i   (combinational from out_ready_i).
// Latency 15 cycles (an input accepted at edge k leaves at edge k+15 when the
// sink is ready), initiation interval 1.
//
// Resources (Yosys synth_xilinx, xcup): 11 DSP48E2, each a single multiply of
// at most 26x17 unsigned bits (Q30 operands are split into 17-bit pieces):
//   seed^2 (1); f*y2 step 1 (2); seed*d1 (1, 16x26 signed);
//   y1^2 as lo^2, hi*lo, hi^2 (3); f*y2 step 2 (2); y1*d2 as lo*d2, hi*d2 (2).
// No BRAM; the seed ROM is 48x15 bits of LUTs. Partial-product sums in fabric.
module tp_rsqrt (
  input  logic        clk_i,
  input  logic        rst_ni,             // synchronous reset, active low (control only)
  // Input: the mean square in Q32 (> 0; 0 flags out_error_o).
  input  logic        in_valid_i,
  output logic        in_ready_o,         // = ~out_valid_o | out_ready_i
  input  logic [63:0] in_ms_i,
  // Output, 15 cycles after the input: ScaleFp = mantissa * 2^exponent.
  output logic        out_valid_o,        // registered; low after reset
  input  logic        out_ready_i,
  output logic [10:0] out_mantissa_o,     // in [1024, 2047]; 0 when out_error_o
  output logic [15:0] out_exponent_o,     // two's complement int16, in [-26, 5]; 0 when out_error_o
  output logic        out_error_o         // the input was 0
);

  `include "tp_rsqrt_seed_table.svh"

  localparam int unsigned Stages = 15;  // register stages = latency

  // ------------------------------------------------------------- control ---
  // v_q[s] = stage s+1 holds a beat. Every stage advances on `adv`.
  logic [Stages-1:0] v_q;
  logic              adv;

  assign adv        = ~v_q[Stages-1] | out_ready_i;
  assign in_ready_o = adv;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      v_q <= '0;
    end else if (adv) begin
      v_q <= {v_q[Stages-2:0], in_valid_i};
    end
  end

  // ------------------------------------------------ datapath (no reset) ---
  // Stage names: <signal><stage>_q, loaded on adv.
  logic [63:0] ms1_q, ms2_q;
  logic [4:0]  j2_q, j3_q, j4_q, j5_q, j6_q, j7_q, j8_q, j9_q, j10_q, j11_q, j12_q, j13_q, j14_q;
  logic        z2_q, z3_q, z4_q, z5_q, z6_q, z7_q, z8_q, z9_q, z10_q, z11_q, z12_q, z13_q, z14_q;
  logic [15:0] f3_q, f4_q, f5_q, f6_q, f7_q, f8_q, f9_q, f10_q, f11_q;
  logic [14:0] seed4_q, seed5_q, seed6_q, seed7_q, seed8_q;
  logic [29:0] sq5_q;                      // seed^2 = y2 of step 1
  logic [32:0] ta6_q, ua12_q;              // f * y2[16:0]
  logic [28:0] tb6_q, ub12_q;              // f * y2[29:17]
  logic signed [25:0] d7_q;                // step 1: 2^30 - t
  logic signed [40:0] p8_q;                // seed * d1
  logic [29:0] y9_q, y10_q, y11_q, y12_q, y13_q, y14_q;  // y1
  logic [33:0] yll10_q;                    // y1[16:0]^2
  logic [29:0] yhl10_q;                    // y1[29:17] * y1[16:0]
  logic [25:0] yhh10_q;                    // y1[29:17]^2
  logic [29:0] y2_11_q;                    // step 2: y1^2 >> 30
  logic [19:0] d13_q;                      // step 2: 2^30 - t, in [0, 2^20)
  logic [36:0] ra14_q;                     // y1[16:0] * d2
  logic [32:0] rb14_q;                     // y1[29:17] * d2
  logic [10:0] mant_q;
  logic [15:0] exp_q;
  logic        err_q;

  // Stage 2: leading non-zero bit pair of ms.
  logic [4:0] j_lod;
  always_comb begin
    j_lod = '0;
    for (int p = 0; p < 32; p++) begin
      if (ms1_q[2*p +: 2] != 2'b00) j_lod = 5'(p);
    end
  end

  // Stage 3: f = {ms, 14'b0} >> 2j (low 16 bits).
  logic [77:0] ms_wide;
  logic [77:0] f_wide;
  assign ms_wide = {ms2_q, 14'b0};
  assign f_wide  = ms_wide >> {j2_q, 1'b0};

  // Stage 4: seed ROM, index (f >> 10) - 16 in [0, 47] (f = 0 only for ms = 0).
  logic [5:0]  seed_index;
  logic [15:0] seed_entry;
  assign seed_index = f3_q[15:10] - 6'd16;
  assign seed_entry = tp_rsqrt_seed_table_entry(seed_index);

  // Step 1 sums (stage 7 and 9).
  logic [46:0] t1_full;
  logic [32:0] t1;
  logic [33:0] d1_wide;
  assign t1_full = {tb6_q, 17'b0} + {14'b0, ta6_q};
  assign t1      = t1_full[46:14];
  assign d1_wide = 34'h0_4000_0000 - {1'b0, t1};

  logic signed [40:0] p8_shifted;
  logic        [29:0] y1_next;
  assign p8_shifted = p8_q >>> 16;
  assign y1_next    = 30'({seed8_q, 15'b0}) + p8_shifted[29:0];

  // Step 2 sums (stages 11, 13, 15).
  logic [63:0] y1_sq;
  assign y1_sq = {4'b0, yhh10_q, 34'b0} + {16'b0, yhl10_q, 18'b0} + {30'b0, yll10_q};

  logic [46:0] t2_full;
  logic [32:0] t2;
  logic [33:0] d2_wide;
  assign t2_full = {ub12_q, 17'b0} + {14'b0, ua12_q};
  assign t2      = t2_full[46:14];
  assign d2_wide = 34'h0_4000_0000 - {1'b0, t2};

  logic [49:0] r_full;
  logic [29:0] y_final;
  assign r_full  = {rb14_q, 17'b0} + {13'b0, ra14_q};
  assign y_final = y14_q + {11'b0, r_full[49:31]};

  always_ff @(posedge clk_i) begin
    if (adv) begin
      // 1: input register
      ms1_q   <= in_ms_i;
      // 2: leading pair
      ms2_q   <= ms1_q;
      j2_q    <= j_lod;
      z2_q    <= (ms1_q == 64'd0);
      // 3: window
      f3_q    <= f_wide[15:0];
      j3_q    <= j2_q;
      z3_q    <= z2_q;
      // 4: seed ROM (registered LUT ROM output)
      seed4_q <= seed_entry[14:0];
      f4_q    <= f3_q;
      j4_q    <= j3_q;
      z4_q    <= z3_q;
      // 5: step 1, y2 = seed^2 (y0 = seed << 15, so y0^2 >> 30 is exact)
      sq5_q   <= seed4_q * seed4_q;
      seed5_q <= seed4_q;
      f5_q    <= f4_q;
      j5_q    <= j4_q;
      z5_q    <= z4_q;
      // 6: step 1, f * y2 in two partial products
      ta6_q   <= f5_q * sq5_q[16:0];
      tb6_q   <= f5_q * sq5_q[29:17];
      seed6_q <= seed5_q;
      f6_q    <= f5_q;
      j6_q    <= j5_q;
      z6_q    <= z5_q;
      // 7: step 1, d1 = 2^30 - (f*y2 >> 14)
      d7_q    <= d1_wide[25:0];
      seed7_q <= seed6_q;
      f7_q    <= f6_q;
      j7_q    <= j6_q;
      z7_q    <= z6_q;
      // 8: step 1, seed * d1
      p8_q    <= $signed({1'b0, seed7_q}) * d7_q;
      seed8_q <= seed7_q;
      f8_q    <= f7_q;
      j8_q    <= j7_q;
      z8_q    <= z7_q;
      // 9: y1 = y0 + (y0*d1 >> 31) = (seed << 15) + (seed*d1 >>> 16)
      y9_q    <= y1_next;
      f9_q    <= f8_q;
      j9_q    <= j8_q;
      z9_q    <= z8_q;
      // 10: step 2, y1^2 in three partial products
      yll10_q <= y9_q[16:0] * y9_q[16:0];
      yhl10_q <= y9_q[29:17] * y9_q[16:0];
      yhh10_q <= y9_q[29:17] * y9_q[29:17];
      y10_q   <= y9_q;
      f10_q   <= f9_q;
      j10_q   <= j9_q;
      z10_q   <= z9_q;
      // 11: step 2, y2 = y1^2 >> 30
      y2_11_q <= y1_sq[59:30];
      y11_q   <= y10_q;
      f11_q   <= f10_q;
      j11_q   <= j10_q;
      z11_q   <= z10_q;
      // 12: step 2, f * y2 in two partial products
      ua12_q  <= f11_q * y2_11_q[16:0];
      ub12_q  <= f11_q * y2_11_q[29:17];
      y12_q   <= y11_q;
      j12_q   <= j11_q;
      z12_q   <= z11_q;
      // 13: step 2, d2 = 2^30 - (f*y2 >> 14)
      d13_q   <= d2_wide[19:0];
      y13_q   <= y12_q;
      j13_q   <= j12_q;
      z13_q   <= z12_q;
      // 14: step 2, y1 * d2 in two partial products
      ra14_q  <= y13_q[16:0] * d13_q;
      rb14_q  <= y13_q[29:17] * d13_q;
      y14_q   <= y13_q;
      j14_q   <= j13_q;
      z14_q   <= z13_q;
      // 15: y = y1 + (y1*d2 >> 31); ScaleFp (output register)
      mant_q  <= z14_q ? 11'd0 : y_final[29:19];
      exp_q   <= z14_q ? 16'd0 : 16'd5 - {11'b0, j14_q};
      err_q   <= z14_q;
    end
  end

  // Bits dropped by the truncating shifts (and checked only by assertions).
  logic unused_bits;
  assign unused_bits = ^{f_wide[77:16], seed_entry[15], t1_full[13:0], d1_wide[33:26], p8_shifted[40:30],
                         y1_sq[63:60], y1_sq[29:0], t2_full[13:0], d2_wide[33:20], r_full[30:0], y_final[18:0]};

  assign out_valid_o    = v_q[Stages-1];
  assign out_mantissa_o = mant_q;
  assign out_exponent_o = exp_q;
  assign out_error_o    = err_q;

  // ----------------------------------------------------------- assertions ---
  // Immediate assertions (Verilator --assert): the handshake rules of both
  // ports, and the ranges the datapath widths rely on.
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(64), .Name("tp_rsqrt in")) u_in_check (
    .clk_i, .rst_ni, .valid_i(in_valid_i), .ready_i(in_ready_o), .data_i(in_ms_i)
  );
  tp_stream_checker #(.Width(28), .Name("tp_rsqrt out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i),
    .data_i({out_error_o, out_exponent_o, out_mantissa_o})
  );

  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      // Ranges the datapath widths rely on (exhaustive analysis in the header).
      if (adv && v_q[2] && !z3_q) begin
        assert (seed_index < 6'd48 && !seed_entry[15])
          else $error("tp_rsqrt: seed index %0d out of the table", seed_index);
      end
      if (adv && v_q[5] && !z6_q) begin
        assert ($signed(d1_wide) >= -34'sd33554432 && $signed(d1_wide) < 34'sd33554432)
          else $error("tp_rsqrt: step-1 correction out of range");
      end
      if (adv && v_q[11] && !z12_q) begin
        assert (d2_wide < 34'd1048576)
          else $error("tp_rsqrt: step-2 correction out of range");
      end
      if (adv && v_q[13] && !z14_q) begin
        assert (y_final[29])
          else $error("tp_rsqrt: result not in [2^29, 2^30)");
      end
    end
  end
`endif

endmodule
