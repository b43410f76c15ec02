// tp_rmsnorm: RMSNorm whose output is the INT8 activation groups of the next
// matmul, bit-exact with tp::fx::rmsnorm (golden/int/rmsnorm.h):
//   ss     = sum x_i^2                       (exact, 72-bit accumulator)
//   mean   = round_shift(ss * inv_dim.m, inv_dim.e) (round half up, TFLite)
//   factor = rsqrt(mean + 42950) * 2^gain_exponent  (tp_rsqrt)
//   z_i    = x_i * gain_i                    (exact, 48 bits)
//   out    = quantize_activations(z, 16, factor)    (tp_act_quant, groups of 32)
// The 1/rms factor is common to the vector, so it only enters the group
// scales: z is quantized while the sum of squares is still running, and the
// scales follow once the factor exists. The configuration is carried with
// each vector through its tail, so consecutive vectors may differ.
//
// Streams (valid/ready):
//   in     Lanes x (Q16.16 int32) and Lanes int16 gain mantissas per beat;
//          cfg_dim_i / Lanes beats make a vector (no last flag needed).
//   val    int8 values, whole groups of 32 (a vector of dim values gives
//          ceil(dim/32) groups; the padding beat of a half group is zero),
//          val_last_o on the vector's last beat. Streamed as soon as each
//          group is complete (tp_act_quant), before the vector's scales.
//   scale  one ScaleFp per group, after the whole vector, scale_last_o on the
//          last group.
// Configuration, sampled with the first beat of each vector: cfg_dim_i (a
// multiple of Lanes in [Lanes, tp_pkg::MaxDim]), cfg_inv_dim_* (the host
// constant 1/dim, ScaleFp, exponent in [-100, -1]) and cfg_gain_exponent_i.
//
// Timing: a vector's beats stream at II 1 and the next vector's follow at
// once; each vector's tail (3 cycles for the mean square, 15 in tp_rsqrt,
// then the factor waits in a FIFO for tp_act_quant) overlaps the vectors
// after it. Up to TailSlots (8) vectors wait for their factors; beyond that,
// or while tp_act_quant holds MaxGroups group maxima waiting for a factor,
// the input stalls. So vectors of up to 2 groups (a prefill block's tokens at
// dim 64) stream at one beat a cycle, and a vector never waits more than one
// tail (21 cycles) after the previous vector's last beat (asserted by the
// test; the former design took dim/Lanes + 21 cycles for every vector).
// Values leave 3 + 12 cycles after their beat (tp_act_quant's value latency);
// the scales follow the factor through tp_act_quant's 7-stage scale path,
// one per cycle.
//
// Resources (Lanes 16): 5 DSP48E2 per lane (x * gain as x[15:0]*g and
// x[31:16]*g; x^2 as lo^2, hi*lo, hi^2), the 72 x 11 mean multiply, tp_rsqrt
// (11 DSPs) and tp_act_quant (2 DSPs); the rest as in tp_act_quant.
module tp_rmsnorm #(
  parameter int unsigned Lanes  = 16,             // elements per beat: 2, 4, 8, 16 or 32
  parameter int unsigned MaxDim = tp_pkg::MaxDim  // largest cfg_dim_i (sizes counters and the scale FIFO)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,  // synchronous reset, active low (control only)
  // Configuration (sampled with the first beat of a vector).
  input  logic [$clog2(MaxDim):0] cfg_dim_i,
  input  logic [10:0]          cfg_inv_dim_mantissa_i,
  input  logic [15:0]          cfg_inv_dim_exponent_i,
  input  logic [15:0]          cfg_gain_exponent_i,
  // Input: x (Q16.16) and gain mantissas, lane i at [i*32 +: 32] / [i*16 +: 16].
  input  logic                 in_valid_i,
  output logic                 in_ready_o,
  input  logic [Lanes*32-1:0]  in_x_i,
  input  logic [Lanes*16-1:0]  in_gain_i,
  // Quantized values (tp_act_quant value stream).
  output logic                 val_valid_o,
  input  logic                 val_ready_i,
  output logic [Lanes*8-1:0]   val_q_o,
  output logic                 val_last_o,
  // Group scales (tp_act_quant scale stream).
  output logic                 scale_valid_o,
  input  logic                 scale_ready_i,
  output logic [10:0]          scale_mantissa_o,
  output logic [15:0]          scale_exponent_o,
  output logic                 scale_last_o
);

  localparam int unsigned DimW   = $clog2(MaxDim) + 1;
  localparam int unsigned BeatW  = $clog2(MaxDim / Lanes) + 1;
  localparam int unsigned ZWidth = 48;
  localparam int unsigned SsW    = 72;   // sum of MaxDim squares of int32 values
  localparam int unsigned SqW    = 63;   // x^2 <= 2^62
  localparam int unsigned LaneSumW = SqW + $clog2(Lanes);

  // ------------------------------------------------------ parameter check ---
  if (Lanes < 2 || Lanes > 32 || (Lanes & (Lanes - 1)) != 0) begin : gen_lanes_check
    $error("tp_rmsnorm: Lanes must be a power of two in [2, 32]");
  end
  if (MaxDim < 64 || (MaxDim & (MaxDim - 1)) != 0 || MaxDim > 512) begin : gen_dim_check
    $error("tp_rmsnorm: MaxDim must be a power of two in [64, 512] (72-bit sum of squares)");
  end

  // ============================================================== front ===
  // F1 input register, F2 partial products (DSP), F3 z and x^2 per lane.
  // All three advance on fadv; F3 hands its beat to tp_act_quant.
  logic       aq_in_ready;
  logic [2:0] fv_q;
  logic [2:0] flast_q;
  logic       fadv, in_fire, f3_fire;
  logic [BeatW-1:0] beat_q;     // beat of the vector being accepted
  logic [BeatW-1:0] beats_q;    // beats of this vector - 1
  logic [BeatW-1:0] beats_cfg;
  logic             beat_last;
  // A vector's configuration for its tail: {inv_dim mantissa, exponent, gain
  // exponent}, sampled with its first beat and carried with its beats
  // through F1..F3, since the next vector's beats follow at once.
  localparam int unsigned CfgW = 11 + 16 + 16;
  logic [CfgW-1:0]  cfg_q;      // of the vector being accepted (after its first beat)
  logic [CfgW-1:0]  beat_cfg;   // of the beat being accepted
  logic [CfgW-1:0]  fcfg1_q, fcfg2_q, fcfg3_q;  // with the beat in F1, F2, F3
  logic             tails_full; // TailSlots vectors wait for their factor

  assign fadv       = ~fv_q[2] | aq_in_ready;
  assign in_ready_o = fadv & ~tails_full;
  assign in_fire    = in_valid_i & in_ready_o;
  assign f3_fire    = fv_q[2] & aq_in_ready;
  logic [DimW-1:0] beats_wide;  // dim / Lanes - 1: fits BeatW bits for dims up to MaxDim
  assign beats_wide = (cfg_dim_i >> $clog2(Lanes)) - 1'b1;
  assign beats_cfg  = beats_wide[BeatW-1:0];
  assign beat_last  = beat_q == (beat_q == '0 ? beats_cfg : beats_q);
  assign beat_cfg   = beat_q == '0 ? {cfg_inv_dim_mantissa_i, cfg_inv_dim_exponent_i, cfg_gain_exponent_i} : cfg_q;

  logic tail_start;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      fv_q   <= '0;
      beat_q <= '0;
    end else begin
      if (fadv) fv_q <= {fv_q[1:0], in_fire};
      if (in_fire) beat_q <= beat_last ? '0 : beat_q + 1'b1;
    end
  end

  always_ff @(posedge clk_i) begin
    if (in_fire && beat_q == '0) begin
      beats_q <= beats_cfg;
      cfg_q   <= beat_cfg;
    end
    if (fadv) begin
      flast_q   <= {flast_q[1:0], in_fire & beat_last};
      fcfg1_q <= beat_cfg;
      fcfg2_q <= fcfg1_q;
      fcfg3_q <= fcfg2_q;
    end
  end

  logic [Lanes*ZWidth-1:0] z3;
  logic [Lanes*SqW-1:0]    sq3;
  for (genvar i = 0; i < Lanes; i++) begin : gen_lane
    logic [31:0]        x1_q;
    logic signed [15:0] g1_q;
    logic signed [32:0] zl2_q;   // x[15:0] * g
    logic signed [31:0] zh2_q;   // x[31:16] * g
    logic        [31:0] ll2_q;   // x[15:0]^2
    logic signed [32:0] hl2_q;   // x[31:16] * x[15:0]
    logic signed [31:0] hh2_q;   // x[31:16]^2
    logic signed [ZWidth-1:0] z3_q;
    logic signed [SqW:0]      sq3_q;  // one bit more: the signed partial sum
    always_ff @(posedge clk_i) begin
      if (fadv) begin
        x1_q  <= in_x_i[i*32 +: 32];
        g1_q  <= in_gain_i[i*16 +: 16];
        zl2_q <= $signed({1'b0, x1_q[15:0]}) * g1_q;
        zh2_q <= $signed(x1_q[31:16]) * g1_q;
        ll2_q <= x1_q[15:0] * x1_q[15:0];
        hl2_q <= $signed(x1_q[31:16]) * $signed({1'b0, x1_q[15:0]});
        hh2_q <= $signed(x1_q[31:16]) * $signed(x1_q[31:16]);
        z3_q  <= {zh2_q, 16'b0} + {{15{zl2_q[32]}}, zl2_q};
        sq3_q <= {hh2_q, 32'b0} + {{14{hl2_q[32]}}, hl2_q, 17'b0} + {32'b0, ll2_q};
      end
    end
    assign z3[i*ZWidth +: ZWidth] = z3_q;
    assign sq3[i*SqW +: SqW]      = sq3_q[SqW-1:0];
    logic unused_sign;
    assign unused_sign = sq3_q[SqW];  // x^2 >= 0
  end

  // Sum of squares: lane sum of the beat leaving F3, accumulated per vector.
  logic [LaneSumW-1:0] lane_sum;
  always_comb begin
    lane_sum = '0;
    for (int i = 0; i < Lanes; i++) lane_sum = lane_sum + {{(LaneSumW-SqW){1'b0}}, sq3[i*SqW +: SqW]};
  end

  logic [SsW-1:0] ss_q, ss_next;
  logic           first_q;  // the next beat leaving F3 starts a vector
  assign ss_next = (first_q ? '0 : ss_q) + {{(SsW-LaneSumW){1'b0}}, lane_sum};
  always_ff @(posedge clk_i) begin
    if (!rst_ni) first_q <= 1'b1;
    else if (f3_fire) first_q <= flast_q[2];
    if (f3_fire) ss_q <= ss_next;
  end
  assign tail_start = f3_fire & flast_q[2];

  // =============================================================== tail ===
  // T1 ss, T2 ss * inv_dim.m, T3 ms = round_shift(.., inv_dim.e) + eps,
  // then tp_rsqrt (15), then the factor waits in a FIFO for tp_act_quant.
  // Several vectors may be in their tails at once (a tail starts each time a
  // vector's last beat leaves F3): up to TailSlots vectors from their last
  // beat accepted to their factor taken by tp_act_quant, so the factor FIFO
  // always has room and tp_rsqrt (whose stages all stall together) is
  // always ready.
  localparam int unsigned TailSlots = 8;
  logic [2:0]      tv_q;
  logic [CfgW-1:0] tcfg1_q;     // the configuration of the vector in T1
  logic [31:0]     tcfg2_q;     // ... in T2: {inv_dim exponent, gain exponent}
  logic [15:0]     gexp_q;      // T3's gain exponent
  logic [SsW+10:0] prod_q;
  logic [63:0]     ms_q;
  logic [6:0]      rshift;
  logic [SsW+10:0] rounded;
  logic            rs_in_ready, rs_valid, rs_error;
  logic [10:0]     rs_mantissa;
  logic [15:0]     rs_exponent;
  logic [SsW+10:0] half;
  assign rshift  = 7'(-tcfg2_q[31:16]);
  assign half    = {{(SsW+10){1'b0}}, 1'b1} << (rshift - 7'd1);
  assign rounded = (prod_q + half) >> rshift;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      tv_q <= '0;
    end else begin
      tv_q <= {tv_q[1:0], tail_start};
    end
    if (tail_start) tcfg1_q <= fcfg3_q;
    if (tv_q[0]) begin
      prod_q  <= ss_q * tcfg1_q[CfgW-1 -: 11];
      tcfg2_q <= tcfg1_q[31:0];
    end
    if (tv_q[1]) begin
      ms_q   <= rounded[63:0] + 64'd42950;
      gexp_q <= tcfg2_q[15:0];
    end
  end

  tp_rsqrt u_rsqrt (
    .clk_i,
    .rst_ni,
    .in_valid_i    (tv_q[2]),
    .in_ready_o    (rs_in_ready),
    .in_ms_i       (ms_q),
    .out_valid_o   (rs_valid),
    .out_ready_i   (rs_out_ready),
    .out_mantissa_o(rs_mantissa),
    .out_exponent_o(rs_exponent),
    .out_error_o   (rs_error)
  );

  // The gain exponents of the vectors in tp_rsqrt, in order; the factors
  // (1/rms * 2^gain_exponent) of the vectors that left it, for tp_act_quant.
  logic        rs_out_ready, gexp_room, gexp_valid, fac_room, fac_valid, factor_ready, factor_taken;
  logic [15:0] rs_gexp;
  logic [10:0] fac_m;
  logic [15:0] fac_e;
  logic [$clog2(TailSlots):0] tails_q;   // vectors from their last beat accepted to their factor taken
  /* verilator lint_off UNUSEDSIGNAL */
  logic [$clog2(TailSlots):0] gexp_count, fac_count;  // room comes from in_ready_o
  /* verilator lint_on UNUSEDSIGNAL */

  tp_fifo #(.Width(16), .Depth(TailSlots)) u_gexp (
    .clk_i, .rst_ni,
    .in_valid_i(tv_q[2]), .in_ready_o(gexp_room), .in_data_i(gexp_q),
    .out_valid_o(gexp_valid), .out_ready_i(rs_valid), .out_data_o(rs_gexp), .count_o(gexp_count));
  tp_fifo #(.Width(27), .Depth(TailSlots)) u_factor (
    .clk_i, .rst_ni,
    .in_valid_i(rs_valid), .in_ready_o(fac_room), .in_data_i({rs_mantissa, rs_exponent + rs_gexp}),
    .out_valid_o(fac_valid), .out_ready_i(factor_ready), .out_data_o({fac_m, fac_e}), .count_o(fac_count));

  assign rs_out_ready = 1'b1;  // the factor FIFO has room for every vector in a tail
  assign factor_taken = fac_valid & factor_ready;
  assign tails_full   = tails_q == ($clog2(TailSlots) + 1)'(TailSlots);

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      tails_q <= '0;
    end else begin
      if (in_fire && beat_last && !factor_taken) tails_q <= tails_q + 1'b1;
      if (factor_taken && !(in_fire && beat_last)) tails_q <= tails_q - 1'b1;
    end
  end

  // ======================================================== quantizer ===
  tp_act_quant #(
    .Lanes    (Lanes),
    .ZWidth   (ZWidth),
    .FracBits (16),
    .MaxGroups(MaxDim / tp_pkg::QuantGroup)
  ) u_quant (
    .clk_i,
    .rst_ni,
    .in_valid_i       (fv_q[2]),
    .in_ready_o       (aq_in_ready),
    .in_z_i           (z3),
    .in_last_i        (flast_q[2]),
    .factor_valid_i   (fac_valid),
    .factor_ready_o   (factor_ready),
    .factor_mantissa_i(fac_m),
    .factor_exponent_i(fac_e),
    .val_valid_o,
    .val_ready_i,
    .val_q_o,
    .val_last_o,
    .scale_valid_o,
    .scale_ready_i,
    .scale_mantissa_o,
    .scale_exponent_o,
    .scale_last_o
  );

  logic unused_tail;
  assign unused_tail = ^{rounded[SsW+10:64], rs_error, rs_in_ready, beats_wide[DimW-1:BeatW],
                         gexp_room, gexp_valid, fac_room};

  // ----------------------------------------------------------- assertions ---
  // Immediate assertions (Verilator --assert): the handshake rules of the
  // input (val and scale are u_quant's ports, checked inside it), the run-time
  // configuration and the rsqrt hand-over.
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(Lanes*48), .Name("tp_rmsnorm in")) u_in_check (
    .clk_i, .rst_ni, .valid_i(in_valid_i), .ready_i(in_ready_o), .data_i({in_gain_i, in_x_i})
  );

  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      if (in_fire && beat_q == '0) begin
        assert (cfg_dim_i >= DimW'(Lanes) && cfg_dim_i <= DimW'(MaxDim) && cfg_dim_i[$clog2(Lanes)-1:0] == '0)
          else $error("tp_rmsnorm: dim %0d is not a multiple of Lanes in [Lanes, MaxDim]", cfg_dim_i);
        assert ($signed(cfg_inv_dim_exponent_i) < 0 && $signed(cfg_inv_dim_exponent_i) >= -100)
          else $error("tp_rmsnorm: inv_dim exponent out of [-100, -1]");
      end
      if (tv_q[2]) begin
        assert (rs_in_ready) else $error("tp_rmsnorm: tp_rsqrt not ready for the mean square");
        assert (gexp_room) else $error("tp_rmsnorm: more vectors in tp_rsqrt than tail slots");
      end
      if (rs_valid) begin
        assert (gexp_valid && fac_room) else $error("tp_rmsnorm: a factor without its slot");
        assert (!rs_error) else $error("tp_rmsnorm: mean square + eps wrapped to 0");
      end
    end
  end
`endif

endmodule
