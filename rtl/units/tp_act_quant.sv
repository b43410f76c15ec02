// tp_act_quant: dynamic INT8 activation quantizer, bit-exact with
// tp::fx::quantize_activations (golden/int/quantize.h) for group = 32
// (tp_pkg::QuantGroup). Per group of 32 values z (integers of value
// z * 2^-FracBits, times a positive per-vector factor), with A = max |z|:
//   q     = round_half_away(127 z / A)          (exact; 0 for an all-zero group)
//   scale = normalize(floor(A * factor.m * 2^12 / 127), factor.e - FracBits - 12)
//           (zero scale {0, 0} for an all-zero group).
// The requantizer of the pipeline is this unit with factor = 1.0 (1024 * 2^-10)
// tied to the factor port; tp_rmsnorm drives the factor (1/rms) after the vector.
//
// Exact division, per lane: with m = |z| <= A, q = (u + 1) >> 1 where
// u = floor(254 m / A) in [0, 254] (floor((x + 1) / 2) = floor((floor(x) + 1) / 2)),
// computed by an 8-step non-restoring divider (2 steps per pipeline stage):
// tp_quant_divider, the module tp_head_quant shares.
// Exact scale: P = A * factor.m (two DSPs), b = msb(P), w = P bits [b : b-18]
// (19 bits, zero-filled), m1 = floor(w / 127) = ((w + 1) * (2^14 + 2^7 + 1)) >> 21
// (exact for w < 2^19), mantissa = m1 >> (1 or 2) so that it lies in
// [1024, 2047], exponent = factor.e - FracBits - 17 + b (+1 when m1 >= 4096).
// This equals the golden normalize of floor(P 2^12 / 127) because only 11 bits
// survive and floor(floor(x / a) / b) = floor(x / (a b)); it needs a normalised
// factor mantissa (in [1024, 2047]), checked by an assertion.
//
// Streams (valid/ready, data stable while valid && !ready):
//   in     Lanes signed z per beat (lane i = element beat*Lanes + i), in_last_i on
//          the last beat of the vector. A vector's length is a multiple of
//          Lanes; missing elements of the last beat must be zero (zeros are the
//          golden model's padding). If the vector ends inside a group, the unit
//          pads the group with zero beats itself (in_ready_o is low meanwhile).
//   factor one ScaleFp per vector; consumed with the vector's last group scale.
//          May arrive long after the vector (tp_rmsnorm): up to MaxGroups group
//          maxima wait for it, after that in_ready_o stays low.
//   val    Lanes int8 values per beat, whole groups (32 / Lanes beats each,
//          padding beats included), val_last_o on the vector's last beat.
//          Values do not wait for the factor.
//   scale  one ScaleFp per group, in order, scale_last_o on the vector's last.
// Timing, without stalls: the last input beat of a group accepted at edge k
// leaves the value port at edge k + $clog2(Lanes) + BeatsPerGroup + 6 (every
// value beat has latency $clog2(Lanes) + BeatsPerGroup + 6 = 12 at the default
// Lanes 16 while the input streams at II 1) and the group's scale leaves at
// edge k + $clog2(Lanes) + 8 (12) when the factor is already valid. Initiation interval
// 1 beat per cycle on both value ports (sustained while the sinks are ready).
//
// Resources (Lanes 16, ZWidth 48): per lane an absolute value, a 56-bit
// 254*m subtractor and eight (ZWidth+2)-bit add/subtract steps (LUT + carry);
// a registered max tree (Lanes-1 comparators); a beat ring buffer in LUTRAM;
// 2 DSP48E2 for A * factor.m (A split 26 + (ZWidth-26) bits); no BRAM.
module tp_act_quant #(
  parameter int unsigned Lanes     = 16,  // values per beat: 2, 4, 8, 16 or 32 (divides the group of 32)
  parameter int unsigned ZWidth    = 48,  // bits of a signed input value, 27..52 (48: x * gain of RMSNorm)
  parameter int          FracBits  = 16,  // fractional bits of z (the scale exponent subtracts it)
  parameter int unsigned MaxGroups = tp_pkg::MaxDim / tp_pkg::QuantGroup  // group maxima waiting for a factor
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,           // synchronous reset, active low (control only)
  // Input values.
  input  logic                    in_valid_i,
  output logic                    in_ready_o,
  input  logic [Lanes*ZWidth-1:0] in_z_i,           // lane i at [i*ZWidth +: ZWidth], two's complement
  input  logic                    in_last_i,        // last beat of the vector
  // Per-vector factor (positive, normalised mantissa).
  input  logic                    factor_valid_i,
  output logic                    factor_ready_o,
  input  logic [10:0]             factor_mantissa_i,  // in [1024, 2047]
  input  logic [15:0]             factor_exponent_i,  // int16
  // Quantized values.
  output logic                    val_valid_o,
  input  logic                    val_ready_i,
  output logic [Lanes*8-1:0]      val_q_o,          // lane i at [i*8 +: 8], int8 in [-127, 127]
  output logic                    val_last_o,       // last beat of the vector (whole groups)
  // Group scales.
  output logic                    scale_valid_o,
  input  logic                    scale_ready_i,
  output logic [10:0]             scale_mantissa_o, // in [1024, 2047], 0 for an all-zero group
  output logic [15:0]             scale_exponent_o, // int16, 0 for an all-zero group
  output logic                    scale_last_o      // last group of the vector
);

  localparam int unsigned Group         = tp_pkg::QuantGroup;
  localparam int unsigned BeatsPerGroup = Group / Lanes;
  localparam int unsigned Levels        = $clog2(Lanes);  // max-tree levels, one register each
  // Ring of beats: one group being written, one being read, and the beats
  // written while a finished group's maximum is still in the tree.
  localparam int unsigned RingBeats     = 2 ** $clog2(BeatsPerGroup + Levels + 3);
  localparam int unsigned RingBits      = $clog2(RingBeats);
  localparam int unsigned GroupSlots    = RingBeats / BeatsPerGroup;  // complete groups in the ring
  localparam int unsigned GroupBits     = GroupSlots > 1 ? $clog2(GroupSlots) : 1;
  localparam int unsigned BeatBits      = BeatsPerGroup > 1 ? $clog2(BeatsPerGroup) : 1;
  localparam int unsigned FifoBits      = $clog2(MaxGroups);
  localparam int unsigned LaneW         = ZWidth + 1;              // magnitude + sign
  localparam int unsigned SlotW         = Lanes * LaneW + 1;       // + vector-last flag
  localparam int unsigned ProdW         = ZWidth + 11;             // A * factor.m
  localparam int unsigned HiW           = ZWidth - 26;

  // ------------------------------------------------------ parameter check ---
  if (Lanes < 2 || Lanes > Group || (Lanes & (Lanes - 1)) != 0) begin : gen_lanes_check
    $error("tp_act_quant: Lanes must be a power of two in [2, 32]");
  end
  if (ZWidth < 27 || ZWidth > 52) begin : gen_zwidth_check
    $error("tp_act_quant: ZWidth must be in [27, 52]");
  end
  if (MaxGroups < 2 || (MaxGroups & (MaxGroups - 1)) != 0) begin : gen_groups_check
    $error("tp_act_quant: MaxGroups must be a power of two >= 2");
  end

  // =================================================== input and ring write ===
  logic [RingBits-1:0]  wp_q, rp_q;           // ring write / read slot
  logic [RingBits:0]    ring_count_q;         // beats in the ring
  logic [BeatBits-1:0]  wb_q;                 // beat of the group being written
  logic                 pad_q;                // writing zero beats to end a group
  logic [FifoBits:0]    reserved_q;           // groups started and not yet scaled
  logic                 ring_free, group_free;
  logic                 in_fire, pad_fire, wr;
  logic                 wr_first, wr_end, wr_last;
  logic                 rd;                   // a beat leaves the ring this edge
  logic                 sc_pop;               // the scale path takes a group maximum

  assign ring_free  = ring_count_q < RingBeats[RingBits:0];
  assign group_free = reserved_q < MaxGroups[FifoBits:0];
  assign in_ready_o = ~pad_q & ring_free & (wb_q != '0 || group_free);
  assign in_fire    = in_valid_i & in_ready_o;
  assign pad_fire   = pad_q & ring_free;
  assign wr         = in_fire | pad_fire;
  assign wr_first   = wb_q == '0;
  assign wr_end     = wb_q == BeatBits'(BeatsPerGroup - 1);
  assign wr_last    = wr_end & (pad_q | in_last_i);

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      wp_q         <= '0;
      wb_q         <= '0;
      pad_q        <= 1'b0;
      ring_count_q <= '0;
      reserved_q   <= '0;
    end else begin
      if (wr) begin
        wp_q <= wp_q + 1'b1;
        wb_q <= wr_end ? '0 : wb_q + 1'b1;
        if (wr_end) pad_q <= 1'b0;
        else if (in_fire && in_last_i) pad_q <= 1'b1;
      end
      ring_count_q <= ring_count_q + {{RingBits{1'b0}}, wr} - {{RingBits{1'b0}}, rd};
      reserved_q   <= reserved_q + {{FifoBits{1'b0}}, wr & wr_first} - {{FifoBits{1'b0}}, sc_pop};
    end
  end

  // Magnitudes and signs of the beat (zeros while padding).
  logic [Lanes*ZWidth-1:0] mag;
  logic [Lanes-1:0]        neg;
  logic [SlotW-1:0]        wr_slot;
  for (genvar i = 0; i < Lanes; i++) begin : gen_abs
    logic [ZWidth-1:0] z;
    assign z                       = pad_q ? '0 : in_z_i[i*ZWidth +: ZWidth];
    assign neg[i]                  = z[ZWidth-1];
    assign mag[i*ZWidth +: ZWidth] = neg[i] ? -z : z;  // |-2^(ZWidth-1)| = 2^(ZWidth-1) fits unsigned
    assign wr_slot[i*LaneW +: LaneW] = {neg[i], mag[i*ZWidth +: ZWidth]};
  end
  assign wr_slot[SlotW-1] = wr_last;

  logic [SlotW-1:0] ring_q [RingBeats];  // LUTRAM: synchronous write, asynchronous read
  always_ff @(posedge clk_i) begin
    if (wr) ring_q[wp_q] <= wr_slot;
  end

  // ============================================================ max tree ===
  // Heap layout: node n in [1, Lanes) = max(node 2n, node 2n+1), leaves at
  // Lanes + i. Every internal node is a register: the root holds the beat's
  // maximum Levels cycles after the write.
  logic [2*Lanes*ZWidth-1:0] heap;
  assign heap[Lanes*ZWidth +: Lanes*ZWidth] = mag;
  assign heap[0 +: ZWidth] = '0;  // unused heap slot 0
  for (genvar n = 1; n < Lanes; n++) begin : gen_tree
    logic [ZWidth-1:0] left, right, node_q;
    assign left  = heap[(2*n)*ZWidth +: ZWidth];
    assign right = heap[(2*n+1)*ZWidth +: ZWidth];
    always_ff @(posedge clk_i) begin
      node_q <= left > right ? left : right;
    end
    assign heap[n*ZWidth +: ZWidth] = node_q;
  end

  // Flags travel beside the tree: valid, first / last beat of a group, vector last.
  logic [Levels-1:0] tv_q, tfirst_q, tend_q, tlast_q;
  logic [Levels:0]   tv_d, tfirst_d, tend_d, tlast_d;
  assign tv_d     = {tv_q, wr};
  assign tfirst_d = {tfirst_q, wr_first};
  assign tend_d   = {tend_q, wr_end};
  assign tlast_d  = {tlast_q, wr_last};
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      tv_q <= '0;
    end else begin
      tv_q <= tv_d[Levels-1:0];
    end
    tfirst_q <= tfirst_d[Levels-1:0];
    tend_q   <= tend_d[Levels-1:0];
    tlast_q  <= tlast_d[Levels-1:0];
  end
  logic unused_tree;
  assign unused_tree = ^{tv_d[Levels], tfirst_d[Levels], tend_d[Levels], tlast_d[Levels], heap[0 +: ZWidth]};

  // Group fold: running maximum of the group's beats.
  logic [ZWidth-1:0] root, gmax_q, gacc;
  logic              group_done;  // a group's maximum is final this cycle
  assign root       = heap[ZWidth +: ZWidth];
  assign gacc       = (tfirst_q[Levels-1] || root > gmax_q) ? root : gmax_q;
  assign group_done = tv_q[Levels-1] & tend_q[Levels-1];
  always_ff @(posedge clk_i) begin
    if (tv_q[Levels-1]) gmax_q <= gacc;
  end

  // ===================================================== complete groups ===
  // Group queue for the reader (maxima of the complete groups in the ring).
  logic [ZWidth-1:0]  gq_q [GroupSlots];
  logic [GroupBits-1:0] gq_wp_q, gq_rp_q;
  logic [GroupBits:0]   gq_count_q;
  logic                 gq_pop;
  always_ff @(posedge clk_i) begin
    if (group_done) gq_q[gq_wp_q] <= gacc;
  end
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      gq_wp_q    <= '0;
      gq_rp_q    <= '0;
      gq_count_q <= '0;
    end else begin
      if (group_done) gq_wp_q <= GroupBits'(gq_wp_q + 1'b1);
      if (gq_pop) gq_rp_q <= GroupBits'(gq_rp_q + 1'b1);
      gq_count_q <= gq_count_q + {{GroupBits{1'b0}}, group_done} - {{GroupBits{1'b0}}, gq_pop};
    end
  end

  // Scale FIFO (maxima waiting for the factor), with the vector-last flag.
  logic [ZWidth:0]     sf_q [MaxGroups];
  logic [FifoBits-1:0] sf_wp_q, sf_rp_q;
  logic [FifoBits:0]   sf_count_q;
  always_ff @(posedge clk_i) begin
    if (group_done) sf_q[sf_wp_q] <= {tlast_q[Levels-1], gacc};
  end
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      sf_wp_q    <= '0;
      sf_rp_q    <= '0;
      sf_count_q <= '0;
    end else begin
      if (group_done) sf_wp_q <= sf_wp_q + 1'b1;
      if (sc_pop) sf_rp_q <= sf_rp_q + 1'b1;
      sf_count_q <= sf_count_q + {{FifoBits{1'b0}}, group_done} - {{FifoBits{1'b0}}, sc_pop};
    end
  end

  // ======================================================= value pipeline ===
  // Stages R (ring read, 254*m), D1..D4 (two divider steps each), O (round,
  // sign): 6 registers, all advancing on dadv.
  localparam int unsigned DStages = 6;
  logic [DStages-1:0] dv_q;     // stage holds a beat
  logic [DStages-1:0] dlast_q;  // vector-last flag per stage
  logic               dadv;
  logic [BeatBits-1:0] rb_q;    // beat of the group being read
  logic [SlotW-1:0]   rd_slot;

  assign dadv   = ~dv_q[DStages-1] | val_ready_i;
  assign rd     = dadv & (gq_count_q != '0);
  assign gq_pop = rd & (rb_q == BeatBits'(BeatsPerGroup - 1));
  assign rd_slot = ring_q[rp_q];

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      dv_q <= '0;
      rp_q <= '0;
      rb_q <= '0;
    end else begin
      if (dadv) dv_q <= {dv_q[DStages-2:0], rd};
      if (rd) begin
        rp_q <= rp_q + 1'b1;
        rb_q <= gq_pop ? '0 : rb_q + 1'b1;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (dadv) begin
      dlast_q <= {dlast_q[DStages-2:0], rd_slot[SlotW-1]};
    end
  end

  // The divider (tp_quant_divider, shared with tp_head_quant): the
  // ring beat's magnitudes and signs with the group maximum, 6 stages on dadv.
  logic [Lanes*ZWidth-1:0] rd_mag;
  logic [Lanes-1:0]        rd_neg;
  for (genvar i = 0; i < Lanes; i++) begin : gen_lane
    assign {rd_neg[i], rd_mag[i*ZWidth +: ZWidth]} = rd_slot[i*LaneW +: LaneW];
  end

  tp_quant_divider #(
    .Lanes   (Lanes),
    .MagWidth(ZWidth)
  ) u_divider (
    .clk_i,
    .en_i (dadv),
    .mag_i(rd_mag),
    .neg_i(rd_neg),
    .a_i  (gq_q[gq_rp_q]),
    .q_o  (val_q_o)
  );

  assign val_valid_o = dv_q[DStages-1];
  assign val_last_o  = dlast_q[DStages-1];

  // ======================================================= scale pipeline ===
  // S1 pop (A, last, factor), S2 partial products, S3 P, S4 b = msb(P),
  // S5 window w, S6 m1 = floor(w / 127), S7 ScaleFp: 7 registers on sadv.
  localparam int unsigned SStages = 7;
  logic [SStages-1:0] sv_q;
  logic [SStages-1:0] slast_q;
  logic               sadv;
  logic [ZWidth:0]    sf_head;
  logic [ZWidth-1:0]  a1_q;
  logic [10:0]        fm1_q;
  logic [15:0]        fe1_q, fe2_q, fe3_q, fe4_q, fe5_q, fe6_q;
  logic               z2_q, z3_q, z4_q, z5_q, z6_q;
  logic [36:0]        pa2_q;           // A[25:0] * factor.m
  logic [HiW+10:0]    pb2_q;           // A[ZWidth-1:26] * factor.m
  logic [ProdW-1:0]   p3_q, p4_q;
  logic [6:0]         b4_q, b5_q, b6_q;
  logic [18:0]        w5_q;
  logic [13:0]        m6_q;
  logic [10:0]        smant_q;
  logic [15:0]        sexp_q;

  assign sadv           = ~sv_q[SStages-1] | scale_ready_i;
  assign sf_head        = sf_q[sf_rp_q];
  assign sc_pop         = sadv & (sf_count_q != '0) & factor_valid_i;
  assign factor_ready_o = sadv & (sf_count_q != '0) & sf_head[ZWidth];

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      sv_q <= '0;
    end else if (sadv) begin
      sv_q <= {sv_q[SStages-2:0], sc_pop};
    end
  end

  logic [ProdW-1:0] p_sum;
  assign p_sum = {{(ProdW-37){1'b0}}, pa2_q} + {pb2_q, 26'b0};

  logic [6:0] b_lod;
  always_comb begin
    b_lod = '0;
    for (int k = 0; k < ProdW; k++) begin
      if (p3_q[k]) b_lod = 7'(k);
    end
  end

  logic [ProdW+17:0] w_wide, w_shifted;
  assign w_wide    = {p4_q, 18'b0};
  assign w_shifted = w_wide >> b4_q;

  logic [19:0] w1;
  logic [34:0] w_div;
  assign w1    = {1'b0, w5_q} + 20'd1;
  assign w_div = {w1, 14'b0} + {7'b0, w1, 7'b0} + {14'b0, w1};  // (w+1) * 16513

  logic        big;
  logic [15:0] exp_adjust;
  assign big        = m6_q[12];
  assign exp_adjust = 16'({9'b0, b6_q}) + {15'b0, big} - 16'(FracBits + 17);

  always_ff @(posedge clk_i) begin
    if (sadv) begin
      slast_q <= {slast_q[SStages-2:0], sf_head[ZWidth]};
      // S1
      a1_q  <= sf_head[ZWidth-1:0];
      fm1_q <= factor_mantissa_i;
      fe1_q <= factor_exponent_i;
      // S2
      pa2_q <= a1_q[25:0] * fm1_q;
      pb2_q <= a1_q[ZWidth-1:26] * fm1_q;
      z2_q  <= a1_q == '0;
      fe2_q <= fe1_q;
      // S3
      p3_q  <= p_sum;
      z3_q  <= z2_q;
      fe3_q <= fe2_q;
      // S4
      p4_q  <= p3_q;
      b4_q  <= b_lod;
      z4_q  <= z3_q;
      fe4_q <= fe3_q;
      // S5
      w5_q  <= w_shifted[18:0];
      b5_q  <= b4_q;
      z5_q  <= z4_q;
      fe5_q <= fe4_q;
      // S6
      m6_q  <= w_div[34:21];
      b6_q  <= b5_q;
      z6_q  <= z5_q;
      fe6_q <= fe5_q;
      // S7
      smant_q <= z6_q ? 11'd0 : (big ? m6_q[12:2] : m6_q[11:1]);
      sexp_q  <= z6_q ? 16'd0 : fe6_q + exp_adjust;
    end
  end

  assign scale_valid_o    = sv_q[SStages-1];
  assign scale_last_o     = slast_q[SStages-1];
  assign scale_mantissa_o = smant_q;
  assign scale_exponent_o = sexp_q;

  logic unused_scale;
  assign unused_scale = ^{w_shifted[ProdW+17:19], w_div[20:0], m6_q[13], m6_q[0]};

  // ----------------------------------------------------------- assertions ---
  // Immediate assertions (Verilator --assert): the handshake rules of every
  // stream, the factor format, buffer bounds and the scale quotient's range.
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(Lanes*ZWidth + 1), .Name("tp_act_quant in")) u_in_check (
    .clk_i, .rst_ni, .valid_i(in_valid_i), .ready_i(in_ready_o), .data_i({in_last_i, in_z_i})
  );
  tp_stream_checker #(.Width(27), .Name("tp_act_quant factor")) u_factor_check (
    .clk_i, .rst_ni, .valid_i(factor_valid_i), .ready_i(factor_ready_o),
    .data_i({factor_exponent_i, factor_mantissa_i})
  );
  tp_stream_checker #(.Width(Lanes*8 + 1), .Name("tp_act_quant val")) u_val_check (
    .clk_i, .rst_ni, .valid_i(val_valid_o), .ready_i(val_ready_i), .data_i({val_last_o, val_q_o})
  );
  tp_stream_checker #(.Width(28), .Name("tp_act_quant scale")) u_scale_check (
    .clk_i, .rst_ni, .valid_i(scale_valid_o), .ready_i(scale_ready_i),
    .data_i({scale_last_o, scale_exponent_o, scale_mantissa_o})
  );

  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      if (sc_pop) begin
        assert (factor_mantissa_i[10])
          else $error("tp_act_quant: factor mantissa %0d is not normalised", factor_mantissa_i);
      end
      assert (ring_count_q <= RingBeats[RingBits:0] && sf_count_q <= MaxGroups[FifoBits:0])
        else $error("tp_act_quant: buffer overflow");
      if (sv_q[5] && !z6_q) begin
        assert (m6_q >= 14'd2064 && m6_q <= 14'd4128)
          else $error("tp_act_quant: scale quotient %0d out of range", m6_q);
      end
    end
  end
`endif

endmodule
