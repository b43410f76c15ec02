// tp_argmax: streaming greedy token choice over the integer logits, the
// index of the largest Q16.16 value and the value itself, bit-exact with
// tp::fx::argmax (golden/int/argmax.h): among equal maxima the LOWEST index
// wins (llama2.c's sample_argmax keeps the first maximum).
//
// Streams (valid/ready; data stable while valid && !ready):
//   in   Lanes int32 logits per beat (lane i at [i*32 +: 32], index
//        beat * Lanes + i), in_count_i valid lanes (lanes [0, count) take
//        part): Lanes on every beat but the last, 1..Lanes on the last (a
//        vocabulary that is not a multiple of Lanes); lane 0 always takes
//        part (a count of 0 is an assertion error), in_last_i on a vector's
//        last beat. Lanes = 32 takes the matrix engine's classifier output as it is
//        (32 rows per beat, out_rows_o valid).
//   out  one beat per vector: out_index_o (the argmax, 0 .. 2^IndexWidth - 1)
//        and out_value_o (the largest logit). Registered.
// Comparison tree: lane pairs, then pairs of pairs, ... one tree level per
// pipeline stage (log2(Lanes) stages); a node takes its upper (later) child
// only when that child is strictly greater, so the earlier index survives
// ties; lanes beyond in_count_i enter as INT32_MIN and so never win. The
// last stage compares the beat's winner with the running best of the
// earlier beats of the vector, again strictly.
//
// Timing: latency log2(Lanes) + 1 cycles (6 at Lanes = 32): the result of a
// vector whose last beat is accepted at edge k leaves at edge k + log2(Lanes)
// + 1 at the earliest. II = 1 beat per cycle, vectors back to back (a one-beat
// vector per cycle gives one result per cycle). The pipeline advances as one:
// in_ready_o = ~out_valid_o | out_ready_i (combinational from out_ready_i;
// put a tp_stream_register in front to cut it).
// Error: err_too_long_o (sticky until reset) when a vector has more than
// 2^IndexWidth values; its index is then wrapped and meaningless.
// Reset (synchronous) clears the valid flags, the running state and the error;
// the datapath registers have no reset.
//
// Resources (Lanes = 32, Yosys xcup): Lanes - 1 = 31 comparators of 32 bits
// (a CARRY chain each) with their value/lane multiplexers, one register per
// tree node, the running best: 2662 LUT, 1161 FF, 99 CARRY4, 12 SRL16E; no
// DSP, no memory (rtl/units/tp_argmax.synth.json).
module tp_argmax #(
  parameter int unsigned Lanes      = 32,                         // logits per beat: a power of two in [2, 32]
  parameter int unsigned IndexWidth = $clog2(tp_pkg::MaxVocab)    // bits of the index (vocabulary up to 2^IndexWidth)
) (
  input  logic                        clk_i,
  input  logic                        rst_ni,       // synchronous reset, active low
  // Logits.
  input  logic                        in_valid_i,
  output logic                        in_ready_o,   // = ~out_valid_o | out_ready_i (combinational)
  input  logic [Lanes*32-1:0]         in_data_i,    // lane i: int32 Q16.16 at [i*32 +: 32]
  input  logic [$clog2(Lanes):0]      in_count_i,   // valid lanes of this beat, 1..Lanes
  input  logic                        in_last_i,    // last beat of the vector
  // Result, log2(Lanes) + 1 cycles after the vector's last beat.
  output logic                        out_valid_o,  // registered; low after reset
  input  logic                        out_ready_i,
  output logic [IndexWidth-1:0]       out_index_o,  // lowest index of the maximum
  output logic [31:0]                 out_value_o,  // the maximum
  // Sticky error flag.
  output logic                        err_too_long_o
);

  localparam int unsigned LogL   = $clog2(Lanes);
  localparam int unsigned CountW = LogL + 1;
  localparam int unsigned BeatW  = IndexWidth - LogL;  // beat number within the vector

  // ------------------------------------------------------ parameter check ---
  if (Lanes < 2 || Lanes > 32 || (Lanes & (Lanes - 1)) != 0) begin : gen_lanes_check
    $error("tp_argmax: Lanes must be a power of two in [2, 32]");
  end
  if (IndexWidth <= LogL || IndexWidth > 31) begin : gen_index_check
    $error("tp_argmax: IndexWidth must be in (log2(Lanes), 31]");
  end

  // ------------------------------------------------------------- control ---
  logic adv;          // the whole pipeline moves at this edge
  logic in_fire;
  logic out_valid_q;

  assign adv        = ~out_valid_q | out_ready_i;
  assign in_ready_o = adv;
  assign in_fire    = in_valid_i & adv;

  // Beat number of the next input beat within its vector.
  logic [BeatW-1:0] beat_q;
  logic             err_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      beat_q <= '0;
      err_q  <= 1'b0;
    end else if (in_fire) begin
      beat_q <= in_last_i ? '0 : beat_q + 1'b1;
      if (!in_last_i && beat_q == {BeatW{1'b1}}) begin
        err_q <= 1'b1;
      end
    end
  end

  assign err_too_long_o = err_q;

  // Sideband of the tree stages: stage s (1..LogL) holds the beat whose tree
  // level s was registered; sb = {valid, first, last, beat}.
  localparam int unsigned SbW = BeatW + 3;
  logic [SbW-1:0]      sb_in;
  logic [LogL*SbW-1:0] sb_flat;  // stage s at [s*SbW +: SbW]
  logic                first_q;  // the next input beat starts a vector

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      first_q <= 1'b1;
    end else if (in_fire) begin
      first_q <= in_last_i;
    end
  end

  assign sb_in = {in_fire, first_q, in_last_i, beat_q};

  for (genvar s = 0; s < LogL; s++) begin : gen_sb
    logic [SbW-1:0] prev;
    logic           vld_q;   // with reset
    logic [SbW-2:0] data_q;  // no reset

    if (s == 0) begin : gen_first
      assign prev = sb_in;
    end else begin : gen_next
      assign prev = sb_flat[(s-1)*SbW +: SbW];
    end

    always_ff @(posedge clk_i) begin
      if (!rst_ni) begin
        vld_q <= 1'b0;
      end else if (adv) begin
        vld_q <= prev[SbW-1];
      end
    end
    always_ff @(posedge clk_i) begin
      if (adv) begin
        data_q <= prev[SbW-2:0];
      end
    end

    assign sb_flat[s*SbW +: SbW] = {vld_q, data_q};
  end

  // ------------------------------------------------------ comparison tree ---
  // Heap numbering: node n (1 .. 2 Lanes - 1) has children 2n and 2n + 1;
  // the leaves Lanes + i are the input lanes, node 1 is the root. A node of
  // depth d is registered in stage LogL - d. Per node a value and a lane, at
  // slot n - 1 of the flat vectors.
  // Lanes beyond in_count_i enter as INT32_MIN: the valid lanes are a prefix
  // containing lane 0, and an upper child wins only when strictly greater, so
  // such a lane can never win against the lower lanes (and lane 0 is always
  // there: a result exists for any count).
  logic [(2*Lanes-1)*32-1:0]   node_val;
  logic [(2*Lanes-1)*LogL-1:0] node_lane;

  for (genvar i = 0; i < Lanes; i++) begin : gen_leaf
    logic valid;
    assign valid = (i == 0) || (CountW'(i) < in_count_i);
    assign node_val[(Lanes+i-1)*32 +: 32]      = valid ? in_data_i[i*32 +: 32] : {1'b1, 31'b0};
    assign node_lane[(Lanes+i-1)*LogL +: LogL] = LogL'(i);
  end

  for (genvar n = 1; n < Lanes; n++) begin : gen_node
    logic signed [31:0] lo_val, hi_val;
    logic               take_hi;
    logic [31:0]        val_q;
    logic [LogL-1:0]    lane_q;

    assign lo_val  = node_val[(2*n-1)*32 +: 32];
    assign hi_val  = node_val[(2*n)*32 +: 32];
    // The later lanes win only when strictly greater (ties keep the lower index).
    assign take_hi = hi_val > lo_val;

    always_ff @(posedge clk_i) begin
      if (adv) begin
        val_q  <= take_hi ? hi_val : lo_val;
        lane_q <= take_hi ? node_lane[(2*n)*LogL +: LogL] : node_lane[(2*n-1)*LogL +: LogL];
      end
    end

    assign node_val[(n-1)*32 +: 32]      = val_q;
    assign node_lane[(n-1)*LogL +: LogL] = lane_q;
  end

  // ------------------------------------------------- running best, output ---
  logic                   root_valid, root_first, root_last;
  logic [BeatW-1:0]       root_beat;
  logic signed [31:0]     root_val, best_val_q, best_val_d;
  logic [IndexWidth-1:0]  root_index, best_index_q, best_index_d;
  logic [31:0]            out_value_q;
  logic [IndexWidth-1:0]  out_index_q;

  assign {root_valid, root_first, root_last, root_beat} = sb_flat[(LogL-1)*SbW +: SbW];
  assign root_val   = node_val[31:0];
  assign root_index = {root_beat, node_lane[LogL-1:0]};

  always_comb begin
    if (root_first || root_val > best_val_q) begin
      best_val_d   = root_val;
      best_index_d = root_index;
    end else begin
      best_val_d   = best_val_q;
      best_index_d = best_index_q;
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      out_valid_q <= 1'b0;
    end else if (adv) begin
      out_valid_q <= root_valid & root_last;
    end
  end

  always_ff @(posedge clk_i) begin
    if (adv && root_valid) begin
      best_val_q   <= best_val_d;
      best_index_q <= best_index_d;
      if (root_last) begin
        out_value_q <= best_val_d;
        out_index_q <= best_index_d;
      end
    end
  end

  assign out_valid_o = out_valid_q;
  assign out_index_o = out_index_q;
  assign out_value_o = out_value_q;

  // ----------------------------------------------------------- assertions ---
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(Lanes*32 + LogL + 2), .Name("tp_argmax in")) u_in_check (
    .clk_i, .rst_ni, .valid_i(in_valid_i), .ready_i(in_ready_o), .data_i({in_data_i, in_count_i, in_last_i})
  );
  tp_stream_checker #(.Width(IndexWidth + 32), .Name("tp_argmax out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i), .data_i({out_index_o, out_value_o})
  );

  always_ff @(posedge clk_i) begin
    if (rst_ni && in_fire) begin
      assert (in_count_i != '0 && in_count_i <= CountW'(Lanes))
        else $error("tp_argmax: in_count_i %0d outside [1, %0d]", in_count_i, Lanes);
      assert (in_last_i || in_count_i == CountW'(Lanes))
        else $error("tp_argmax: a beat before the last has %0d lanes, not %0d", in_count_i, Lanes);
    end
  end
`endif

endmodule
