// tp_attention_engine: flash attention over the paged INT8 KV cache, bit exact
// with the golden tp::fx::attention (golden/int/attention.cpp) for every query.
//
// A job is a set of query slots that share one KV head of one layer: decode
// puts the n_heads / n_kv_heads query heads of a KV head (grouped-query
// attention) in one job; prefill adds a block of query positions (each slot
// carries its own position: the causal mask). The engine streams the KV
// head's page segments once per job (golden/int/kv_layout.h: a scale beat, K
// beats, V beats) and never materialises a score matrix: per tile of 16
// positions and per slot it computes the scores, updates the slot's online
// base-2 softmax (integer running max m, sum l, exact rescale shifts) and
// adds the tile's P x V terms to the slot's accumulators; after the slot's
// last tile it normalises by floor(2^46 / l).
//
// Per slot (q: head_size int8 with scale qs; qc = multiply(qs, score_scale);
// tile k covers positions 16k .. 16k + 15; the slot uses those <= its pos):
//   S_t   = sat32(round_shift(dot(q, k_t) * qc.m * ks_t.m, qc.e + ks_t.e + 16))
//   c     = ceil(max_t S_t / 2^16); first tile: m = c, shift 0; else if c > m:
//           shift = min(c - m, 126), m = c; else shift 0
//   p_t   = exp2_neg(S_t - m * 2^16)                     (tp_exp2, Q0.16)
//   l     = round_shift(l, -shift) + sum_t p_t           (first tile: sum_t p_t)
//   o_i   = round_shift(o_i, -shift) + sum_t round_shift(p_t * vs_t.m * v_ti, vs_t.e + 16)
//   out_i = sat32(round_shift(o_i * floor(2^46 / l), -46))      (Q16.16)
// Every sum is exact (the golden model adds in int128; AccWidth bits suffice
// for any K/V the KV port writes from quantize_q16: |v * vs| <= 2^15).
//
// Streams (valid/ready):
//   q     one beat per slot: q_data_i lane i (int8 at [8i +: 8]) for i <
//         head_size (lanes above are ignored), its scale (mantissa 0 or in
//         [1024, 2047], exponent), q_pos_i, q_last_i on the job's last slot.
//         A job holds at most MaxSlots slots. Two jobs can be resident: one
//         loads while the previous one computes or drains.
//   kv    the job's segments in position order, ceil((max pos + 1) / 16) of
//         them, 1 + pitch / 2 beats each (pitch = max(8, pow2ceil(head_size)));
//         kv_seg_last_i on each segment's last beat, kv_job_last_i on the job's
//         last beat (tp_kv_port). TileBuffers segments are buffered.
//   out   per slot, in the order the slots finish (by their last tile, then
//         slot index), ceil(head_size / 8) beats of 8 int32 lanes (lanes at or
//         above head_size are 0), out_slot_o, out_last_o on the job's last beat.
//
// Timing: each slot of a tile occupies the score pipeline pitch / 4 cycles
// (one per K beat; 1 cycle for a slot the causal mask excludes from the tile)
// and the P x V pipeline as long, so a tile costs slots * pitch / 4 cycles
// against 1 + pitch / 2 beats of the KV port: decode runs at the port's pace
// for up to two slots per job (stories260K: 2 slots x 2 cycles per 5-beat
// segment). Latency (sink ready): a slot whose last tile is the job's last
// segment has its first output beat 31 + 2 * (pitch / 4) + pitch / 8 cycles
// after that segment's last beat was accepted (segment complete 1, scores
// pitch / 4 + 5, softmax 5 (tp_exp2), P x V pitch / 4 + 3 + pitch / 8 (the
// accumulator update, 8 elements per cycle), queue 1, floor(2^46 / l) in
// tp_reciprocal 16); then one beat per cycle. The division is pipelined, so
// slots finalise at ceil(head_size / 8) beats each, back to back, while the
// next job's segments already stream.
//
// Errors (sticky flags err_o, cleared by reset; the framing of every stream
// stays defined, values of a job with an error are not):
//   [0] configuration: head_size not in 1..64 or score scale not normalised
//       (the engine runs with head_size clamped to 1..64)
//   [1] KV framing: kv_seg_last_i or kv_job_last_i not where the job's
//       segment count puts them (a segment ends at kv_seg_last_i or at its
//       full length, whichever comes first; segments are counted by the job)
//   [2] KV scale: a V scale exponent above 5 (outside what quantize_q16 makes)
//   [3] query: an unnormalised q scale, or more than MaxSlots slots (the
//       job is closed at MaxSlots)
//   [4] KV read: a beat with kv_err_i (tp_kv_port refused the segment's read)
//
// Reset (synchronous, active low) drops every job, tile and output beat; no
// RAM is reset.
// Resources: tp_exp2 with 16 lanes (16 DSP48E2), 64 8x8 score products, 64
// 28x8 P x V products, 8 score scalers, 8 64x32 normalisers, tp_reciprocal; segment ring
// (TileBuffers x 32 beats x 512 bits, block RAM), accumulators (2 x MaxSlots
// x 64 x AccWidth, LUT RAM, 8 elements a word).
module tp_attention_engine #(
  parameter int unsigned MaxSlots    = 16,                  // query slots per job, power of 2 >= 2
  parameter int unsigned TileBuffers = 8,                   // KV segments buffered, power of 2 >= 2
  parameter int unsigned MaxSeqLen   = tp_pkg::MaxSeqLen,   // positions 0 .. MaxSeqLen-1, power of 2 >= 32
  parameter int unsigned AccWidth    = 64,                  // P x V accumulators (>= clog2(MaxSeqLen) + 49)
  parameter int unsigned CounterWidth = 32                  // performance counters (wrap around)
) (
  input  logic                        clk_i,
  input  logic                        rst_ni,             // synchronous reset, active low
  // Configuration (change only while no job is resident).
  input  logic [6:0]                  cfg_head_size_i,    // 1 .. 64
  input  logic [10:0]                 cfg_score_scale_m_i, // log2(e) / sqrt(head_size): mantissa
  input  logic [7:0]                  cfg_score_scale_e_i, // ... exponent (signed)
  // Query stream: one beat per slot.
  input  logic                        q_valid_i,
  output logic                        q_ready_o,          // from flops
  input  logic [511:0]                q_data_i,
  input  logic [10:0]                 q_scale_m_i,
  input  logic [7:0]                  q_scale_e_i,        // signed
  input  logic [$clog2(MaxSeqLen)-1:0] q_pos_i,
  input  logic                        q_last_i,
  // KV segment stream.
  input  logic                        kv_valid_i,
  output logic                        kv_ready_o,         // from flops
  input  logic [511:0]                kv_data_i,
  input  logic                        kv_seg_last_i,
  input  logic                        kv_job_last_i,
  input  logic                        kv_err_i,           // the KV port could not read this segment
  // Output stream: 8 int32 lanes per beat.
  output logic                        out_valid_o,
  input  logic                        out_ready_i,
  output logic [255:0]                out_data_o,
  output logic [$clog2(MaxSlots)-1:0] out_slot_o,
  output logic                        out_last_o,
  // Status.
  output logic [4:0]                  err_o,
  output logic                        busy_o,             // a job is resident
  output logic [CounterWidth-1:0]     perf_busy_o,        // cycles with a job resident
  output logic [CounterWidth-1:0]     perf_kv_beats_o,    // KV beats accepted
  output logic [CounterWidth-1:0]     perf_kv_wait_o      // cycles the scores wait for a segment
);

  // ------------------------------------------------------ parameter check ---
  if (MaxSlots < 2 || (1 << $clog2(MaxSlots)) != MaxSlots) begin : gen_slots_check
    $error("tp_attention_engine: MaxSlots must be a power of 2, >= 2");
  end
  if (TileBuffers < 2 || (1 << $clog2(TileBuffers)) != TileBuffers) begin : gen_buffers_check
    $error("tp_attention_engine: TileBuffers must be a power of 2, >= 2");
  end
  if (MaxSeqLen < 32 || (1 << $clog2(MaxSeqLen)) != MaxSeqLen) begin : gen_seq_check
    $error("tp_attention_engine: MaxSeqLen must be a power of 2, >= 32");
  end
  if (AccWidth < $clog2(MaxSeqLen) + 49 || AccWidth > 120) begin : gen_acc_check
    $error("tp_attention_engine: AccWidth must be in [clog2(MaxSeqLen) + 49, 120]");
  end

  localparam int unsigned SlotW  = $clog2(MaxSlots);
  localparam int unsigned PosW   = $clog2(MaxSeqLen);
  localparam int unsigned TileW  = PosW - 4;
  localparam int unsigned RingW  = $clog2(TileBuffers);
  localparam int unsigned SumW   = PosW + 17;           // l <= MaxSeqLen * 2^16
  localparam int unsigned QcEW   = 10;                  // exponent of qc
  localparam int unsigned AW     = AccWidth;
  localparam int unsigned TermW  = 58;                  // one P x V term: |x| < 2^57
  localparam logic [6:0]  MaxShift = 7'd126;
  localparam logic signed [31:0] I32Max = 32'sh7FFF_FFFF;
  localparam logic signed [31:0] I32Min = -32'sh7FFF_FFFF - 32'sd1;

  // ================================================= configuration ===
  // pitch = 2^lw bytes per K/V row; kb = pitch / 4 K beats (and V beats).
  logic [6:0] hs;          // head size, clamped to 1..64
  logic [2:0] lw;          // 3..6
  logic [4:0] kb;          // 2, 4, 8, 16
  logic       cfg_bad;

  assign cfg_bad = (cfg_head_size_i == 7'd0) || (cfg_head_size_i > 7'd64) || !cfg_score_scale_m_i[10];
  assign hs      = (cfg_head_size_i == 7'd0) ? 7'd1 : (cfg_head_size_i > 7'd64) ? 7'd64 : cfg_head_size_i;
  assign lw      = (hs <= 7'd8) ? 3'd3 : (hs <= 7'd16) ? 3'd4 : (hs <= 7'd32) ? 3'd5 : 3'd6;
  assign kb      = 5'd1 << (lw - 3'd2);

  // ================================================= error flags ===
  logic err_cfg_d, err_frame_d, err_scale_d, err_query_d, err_read_d;
  logic [4:0] err_q;
  assign err_o = err_q;

  // ================================================= query load side ===
  // Per parity (job buffer) p: busy_q[p] from the job's last query beat to
  // its last output beat; issued_q[p] once its tiles are all issued.
  logic [1:0]           busy_q, issued_q;
  logic                 load_par_q;
  logic [SlotW-1:0]     load_slot_q;
  logic [PosW-1:0]      load_maxpos_q;
  logic [SlotW:0]       job_slots_q  [2];   // slots of the job in each parity
  logic [TileW-1:0]     job_last_tile_q [2];
  logic                 q_fire, q_job_end;
  logic [PosW-1:0]      load_maxpos_d;

  assign q_ready_o     = ~busy_q[load_par_q];
  assign q_fire        = q_valid_i & q_ready_o;
  assign q_job_end     = q_last_i | (&load_slot_q);
  assign load_maxpos_d = (load_slot_q == '0 || q_pos_i > load_maxpos_q) ? q_pos_i : load_maxpos_q;

  // q replicated over the 64 lanes: lane j holds q[j mod pitch] (0 at or above
  // head_size), so one K beat of 64 / pitch rows meets a copy of q per row.
  logic [511:0] q_rep;
  for (genvar j = 0; j < 64; j++) begin : gen_q_rep
    logic [5:0] elem;
    logic [7:0] value;
    assign elem  = 6'(j) & ((6'd1 << lw) - 6'd1);
    assign value = (lw == 3'd3) ? q_data_i[8*(j % 8) +: 8] : (lw == 3'd4) ? q_data_i[8*(j % 16) +: 8] :
                   (lw == 3'd5) ? q_data_i[8*(j % 32) +: 8] : q_data_i[8*j +: 8];
    assign q_rep[8*j +: 8] = ({1'b0, elem} < hs) ? value : 8'd0;
  end

  // qc = multiply(q scale, score scale): 22-bit product truncated to 11 bits.
  logic [21:0]        qc_prod;
  logic [10:0]        qc_m;
  logic [QcEW-1:0]    qc_e;
  assign qc_prod = q_scale_m_i * cfg_score_scale_m_i;
  always_comb begin
    if (qc_prod == '0) begin
      qc_m = '0;
      qc_e = '0;
    end else if (qc_prod[21]) begin
      qc_m = qc_prod[21:11];
      qc_e = {{2{q_scale_e_i[7]}}, q_scale_e_i} + {{2{cfg_score_scale_e_i[7]}}, cfg_score_scale_e_i} + QcEW'(11);
    end else begin
      qc_m = qc_prod[20:10];
      qc_e = {{2{q_scale_e_i[7]}}, q_scale_e_i} + {{2{cfg_score_scale_e_i[7]}}, cfg_score_scale_e_i} + QcEW'(10);
    end
  end

  // Slot memories, indexed {parity, slot}.
  logic [511:0]          q_mem   [2*MaxSlots];
  logic [11+QcEW-1:0]    qc_mem  [2*MaxSlots];
  logic [PosW-1:0]       pos_mem [2*MaxSlots];

  always_ff @(posedge clk_i) begin
    if (q_fire) begin
      q_mem[{load_par_q, load_slot_q}]   <= q_rep;
      qc_mem[{load_par_q, load_slot_q}]  <= {qc_m, qc_e};
      pos_mem[{load_par_q, load_slot_q}] <= q_pos_i;
    end
  end

  // ================================================= KV receive side ===
  // A ring of TileBuffers segments: the scale beat in scale_mem, K beats at
  // {buffer, 0 .. kb-1} and V beats at {buffer, kb .. 2kb-1} of seg_mem.
  logic [RingW:0]   rx_ptr_q, qk_ptr_q, rel_ptr_q;   // segments received / issued / released
  logic [5:0]       rx_beat_q;                        // beat within the segment (0: scales)
  logic             kv_fire, rx_seg_end;
  logic [TileBuffers-1:0] seg_job_last_q;             // the segment carried kv_job_last_i
  logic [511:0]     seg_mem   [TileBuffers*32];
  logic [255:0]     kscale_mem [TileBuffers];          // 16 K scale codes
  logic [255:0]     vscale_mem [TileBuffers];          // 16 V scale codes

  assign kv_ready_o = (rx_ptr_q - rel_ptr_q) != (RingW+1)'(TileBuffers);
  assign kv_fire    = kv_valid_i & kv_ready_o;
  // Beat 2kb is the segment's last; an early kv_seg_last_i (a segment the KV
  // port could not read comes as one error beat) closes it too, so the
  // segments of later tiles and jobs stay in step.
  assign rx_seg_end = (rx_beat_q == {kb, 1'b0}) || kv_seg_last_i;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      rx_ptr_q  <= '0;
      rx_beat_q <= '0;
    end else if (kv_fire) begin
      rx_beat_q <= rx_seg_end ? 6'd0 : rx_beat_q + 6'd1;
      if (rx_seg_end) rx_ptr_q <= rx_ptr_q + 1'b1;
    end
  end

  always_ff @(posedge clk_i) begin
    if (kv_fire) begin
      if (rx_beat_q == 6'd0) begin
        kscale_mem[rx_ptr_q[RingW-1:0]] <= kv_data_i[255:0];
        vscale_mem[rx_ptr_q[RingW-1:0]] <= kv_data_i[511:256];
      end else seg_mem[{rx_ptr_q[RingW-1:0], 5'(rx_beat_q - 6'd1)}] <= kv_data_i;
      if (rx_seg_end) seg_job_last_q[rx_ptr_q[RingW-1:0]] <= kv_job_last_i;
    end
  end

  // ================================================= score issue (QK) ===
  logic             comp_active_q, comp_par_q;
  logic [TileW-1:0] comp_tile_q;
  logic [SlotW-1:0] comp_slot_q;
  logic [3:0]       comp_beat_q;
  logic             seg_ready, issue_go, slot_active, item_end, tile_end, job_issue_end, comp_start;
  logic [PosW-1:0]  slot_pos;
  logic [4:0]       slot_count;                     // valid positions of the tile, 1..16
  logic             slot_last_tile;
  logic [SlotW-1:0] comp_last_slot;
  logic [RingW-1:0] qk_buf;

  assign comp_start     = !comp_active_q && busy_q[comp_par_q] && !issued_q[comp_par_q];
  assign seg_ready      = qk_ptr_q != rx_ptr_q;
  assign qk_buf         = qk_ptr_q[RingW-1:0];
  assign slot_pos       = pos_mem[{comp_par_q, comp_slot_q}];
  assign slot_active    = (slot_pos[PosW-1:4] >= comp_tile_q);
  assign slot_last_tile = (slot_pos[PosW-1:4] == comp_tile_q);
  assign slot_count     = slot_last_tile ? {1'b0, slot_pos[3:0]} + 5'd1 : 5'd16;
  assign comp_last_slot = SlotW'(job_slots_q[comp_par_q] - 1'b1);
  assign issue_go       = comp_active_q && seg_ready;
  // Every item (slot x tile) takes kb cycles, also one the causal mask
  // excludes: the P x V stage then sees the same spacing.
  assign item_end       = (comp_beat_q == 4'(kb - 5'd1));
  assign tile_end       = item_end && (comp_slot_q == comp_last_slot);
  assign job_issue_end  = tile_end && (comp_tile_q == job_last_tile_q[comp_par_q]);

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      comp_active_q <= 1'b0;
      comp_par_q    <= 1'b0;
      comp_tile_q   <= '0;
      comp_slot_q   <= '0;
      comp_beat_q   <= '0;
      qk_ptr_q      <= '0;
    end else if (comp_start) begin
      comp_active_q <= 1'b1;
      comp_tile_q   <= '0;
      comp_slot_q   <= '0;
      comp_beat_q   <= '0;
    end else if (issue_go) begin
      if (!item_end) begin
        comp_beat_q <= comp_beat_q + 4'd1;
      end else begin
        comp_beat_q <= '0;
        comp_slot_q <= tile_end ? '0 : comp_slot_q + 1'b1;
        if (tile_end) begin
          qk_ptr_q    <= qk_ptr_q + 1'b1;
          comp_tile_q <= comp_tile_q + 1'b1;
        end
        if (job_issue_end) begin
          comp_active_q <= 1'b0;
          comp_par_q    <= ~comp_par_q;
        end
      end
    end
  end

  // Item metadata travelling with every beat through both pipelines.
  //   {release, last_tile, first_tile, count[4:0], active, par, slot}
  localparam int unsigned MetaW = SlotW + 10;
  logic [MetaW-1:0] issue_meta;
  assign issue_meta = {tile_end, slot_last_tile & slot_active, comp_tile_q == '0, slot_count, slot_active,
                       comp_par_q, comp_slot_q};

  // Q1: memory reads (synchronous) and the item's control.
  logic             q1_valid_q, q1_item_end_q;
  logic [MetaW-1:0] q1_meta_q;
  logic [3:0]       q1_beat_q;
  logic [511:0]     q1_k_q, q1_q_q;
  logic [255:0]     q1_scales_q;
  logic [11+QcEW-1:0] q1_qc_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) q1_valid_q <= 1'b0;
    else q1_valid_q <= issue_go;
  end
  always_ff @(posedge clk_i) begin
    if (issue_go) begin
      q1_k_q        <= seg_mem[{qk_buf, 1'b0, comp_beat_q}];
      q1_scales_q   <= kscale_mem[qk_buf];
      q1_q_q        <= q_mem[{comp_par_q, comp_slot_q}];
      q1_qc_q       <= qc_mem[{comp_par_q, comp_slot_q}];
      q1_meta_q     <= issue_meta;
      q1_beat_q     <= comp_beat_q;
      q1_item_end_q <= item_end;
    end
  end

  // Framing check of each segment as its first item issues.
  logic frame_bad;
  assign frame_bad = issue_go && comp_slot_q == '0 && comp_beat_q == '0 &&
                     (seg_job_last_q[qk_buf] != (comp_tile_q == job_last_tile_q[comp_par_q]));

  // Q2: 64 products q_j * k_j (8 x 8 signed).
  logic             q2_valid_q, q2_item_end_q;
  logic [MetaW-1:0] q2_meta_q;
  logic [3:0]       q2_beat_q;
  logic [1023:0]    q2_prod_q;          // 64 x 16 bits
  logic [255:0]     q2_scales_q;        // the 16 K scale codes
  logic [11+QcEW-1:0] q2_qc_q;
  logic [1023:0]    q1_prod;

  for (genvar j = 0; j < 64; j++) begin : gen_qk_product
    assign q1_prod[16*j +: 16] = 16'($signed(q1_q_q[8*j +: 8]) * $signed(q1_k_q[8*j +: 8]));
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) q2_valid_q <= 1'b0;
    else q2_valid_q <= q1_valid_q;
  end
  always_ff @(posedge clk_i) begin
    q2_prod_q     <= q1_prod;
    q2_scales_q   <= q1_scales_q;
    q2_qc_q       <= q1_qc_q;
    q2_meta_q     <= q1_meta_q;
    q2_beat_q     <= q1_beat_q;
    q2_item_end_q <= q1_item_end_q;
  end

  // Q3: the dot products of the beat's rows (64 / pitch of them), segmented
  // sums over pitch lanes, and each row's K scale.
  logic             q3_valid_q, q3_item_end_q;
  logic [MetaW-1:0] q3_meta_q;
  logic [3:0]       q3_beat_q;
  logic [167:0]     q3_dot_q;           // 8 x 21 bits
  logic [127:0]     q3_kcode_q;         // 8 x 16 bits
  logic [11+QcEW-1:0] q3_qc_q;
  logic [167:0]     q2_dot;
  logic [127:0]     q2_kcode;

  logic [167:0] s8;                     // sums of 8 products, 8 x 21 bits
  logic [167:0] s16, s32, s64;          // sums of 16, 32, 64 (lanes 0..3, 0..1, 0)
  for (genvar r = 0; r < 8; r++) begin : gen_sum8
    always_comb begin
      s8[21*r +: 21] = '0;
      for (int j = 0; j < 8; j++) s8[21*r +: 21] = s8[21*r +: 21] + 21'($signed(q2_prod_q[16*(8*r+j) +: 16]));
    end
  end
  for (genvar r = 0; r < 8; r++) begin : gen_dot
    if (r < 4) begin : gen_s16
      assign s16[21*r +: 21] = s8[42*r +: 21] + s8[42*r+21 +: 21];
    end else begin : gen_s16_none
      assign s16[21*r +: 21] = '0;
    end
    if (r < 2) begin : gen_s32
      assign s32[21*r +: 21] = s16[42*r +: 21] + s16[42*r+21 +: 21];
    end else begin : gen_s32_none
      assign s32[21*r +: 21] = '0;
    end
    if (r < 1) begin : gen_s64
      assign s64[21*r +: 21] = s32[0 +: 21] + s32[21 +: 21];
    end else begin : gen_s64_none
      assign s64[21*r +: 21] = '0;
    end
    assign q2_dot[21*r +: 21] = (lw == 3'd3) ? s8[21*r +: 21] : (lw == 3'd4) ? s16[21*r +: 21] :
                                (lw == 3'd5) ? s32[21*r +: 21] : s64[21*r +: 21];
    // Row r of beat b is slot (b << (6 - lw)) + r of the segment.
    logic [3:0] row_slot;
    assign row_slot = 4'(q2_beat_q << (3'd6 - lw)) + 4'(r);
    assign q2_kcode[16*r +: 16] = q2_scales_q[16*row_slot +: 16];
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) q3_valid_q <= 1'b0;
    else q3_valid_q <= q2_valid_q;
  end
  always_ff @(posedge clk_i) begin
    q3_dot_q      <= q2_dot;
    q3_kcode_q    <= q2_kcode;
    q3_qc_q       <= q2_qc_q;
    q3_meta_q     <= q2_meta_q;
    q3_beat_q     <= q2_beat_q;
    q3_item_end_q <= q2_item_end_q;
  end

  // Q4: dot * qc.m * ks.m (43 bits signed) and the shift qc.e + ks.e + 16.
  logic             q4_valid_q, q4_item_end_q;
  logic [MetaW-1:0] q4_meta_q;
  logic [3:0]       q4_beat_q;
  logic [343:0]     q4_prod_q;          // 8 x 43 bits
  logic [95:0]      q4_shift_q;         // 8 x 12 bits signed
  logic [343:0]     q3_prod;
  logic [95:0]      q3_shift;

  for (genvar r = 0; r < 8; r++) begin : gen_score_product
    logic [15:0]        code;
    logic [10:0]        km;
    logic signed [11:0] ke;
    logic [21:0]        mm;
    assign code = q3_kcode_q[16*r +: 16];
    assign km   = (code == 16'd0) ? 11'd0 : {1'b1, code[9:0]};
    assign ke   = $signed({6'd0, code[15:10]}) - 12'sd40;
    assign mm   = q3_qc_q[11+QcEW-1 -: 11] * km;
    assign q3_prod[43*r +: 43]  = 43'($signed(q3_dot_q[21*r +: 21]) * $signed({1'b0, mm}));
    assign q3_shift[12*r +: 12] = 12'($signed(q3_qc_q[QcEW-1:0])) + ke + 12'sd16;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) q4_valid_q <= 1'b0;
    else q4_valid_q <= q3_valid_q;
  end
  always_ff @(posedge clk_i) begin
    q4_prod_q     <= q3_prod;
    q4_shift_q    <= q3_shift;
    q4_meta_q     <= q3_meta_q;
    q4_beat_q     <= q3_beat_q;
    q4_item_end_q <= q3_item_end_q;
  end

  // Q5: the rounding shift and int32 saturation; scores gather per item.
  logic [255:0] q4_score;   // 8 x 32
  for (genvar r = 0; r < 8; r++) begin : gen_score_round
    logic signed [42:0] v;
    logic signed [11:0] sh;
    logic signed [75:0] wide;     // v << sh for 0 <= sh < 32
    logic signed [43:0] rounded;  // round_shift(v, sh) for -44 < sh < 0
    assign v       = $signed(q4_prod_q[43*r +: 43]);
    assign sh      = $signed(q4_shift_q[12*r +: 12]);
    assign wide    = 76'(v) <<< sh[4:0];
    assign rounded = ((44'(v) >>> 6'(-sh - 12'sd1)) + 44'sd1) >>> 1;
    always_comb begin
      if (v == 43'sd0 || sh <= -12'sd44) begin
        q4_score[32*r +: 32] = 32'd0;  // right shift >= 44: |v| < 2^42 rounds to 0
      end else if (sh >= 12'sd32) begin
        q4_score[32*r +: 32] = v[42] ? I32Min : I32Max;
      end else if (sh >= 12'sd0) begin
        q4_score[32*r +: 32] = (wide > 76'(I32Max)) ? I32Max : (wide < -76'sh8000_0000) ? I32Min : wide[31:0];
      end else begin
        q4_score[32*r +: 32] = (rounded > 44'(I32Max)) ? I32Max : (rounded < -44'sh8000_0000) ? I32Min : rounded[31:0];
      end
    end
  end

  // Gather: positions (beat << (6 - lw)) + r, r < 64 / pitch.
  logic [511:0] gather_q, gather_d;
  logic [31:0]  gather_slot;            // 8 x 4: the segment slot of each row of the beat
  logic [3:0]   gather_rows;            // rows per beat: 64 / pitch
  for (genvar r = 0; r < 8; r++) begin : gen_gather_slot
    assign gather_slot[4*r +: 4] = 4'(q4_beat_q << (3'd6 - lw)) + 4'(r);
  end
  assign gather_rows = 4'(8 >> (lw - 3'd3));
  always_comb begin
    gather_d = gather_q;
    for (int r = 0; r < 8; r++) begin
      if (4'(r) < gather_rows) gather_d[32*gather_slot[4*r +: 4] +: 32] = q4_score[32*r +: 32];
    end
  end
  always_ff @(posedge clk_i) begin
    if (q4_valid_q) gather_q <= gather_d;
  end

  // ================================================= softmax (SM) ===
  // SM1: one item (slot x tile) with its scores.
  logic             sm1_valid_q;
  logic [MetaW-1:0] sm1_meta_q;
  logic [511:0]     sm1_scores_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) sm1_valid_q <= 1'b0;
    else sm1_valid_q <= q4_valid_q && q4_item_end_q;
  end
  always_ff @(posedge clk_i) begin
    if (q4_valid_q && q4_item_end_q) begin
      sm1_scores_q <= gather_d;
      sm1_meta_q   <= q4_meta_q;
    end
  end

  logic [SlotW-1:0] sm1_slot;
  logic             sm1_active, sm1_first;
  logic [4:0]       sm1_count;
  assign sm1_slot   = sm1_meta_q[SlotW-1:0];
  assign sm1_active = sm1_meta_q[SlotW+1];
  assign sm1_count  = sm1_meta_q[SlotW+6:SlotW+2];
  assign sm1_first  = sm1_meta_q[SlotW+7];

  logic signed [16:0] m_mem [MaxSlots];   // running max per slot
  logic [SumW-1:0]    l_mem [MaxSlots];   // running sum per slot

  logic signed [31:0] sm1_max;
  logic signed [16:0] sm1_ceil, sm1_m_old, sm1_m_new;
  logic signed [17:0] sm1_raise;
  logic [6:0]         sm1_shift;
  logic [527:0]       sm1_mag;            // 16 x 33

  always_comb begin
    sm1_max = $signed(sm1_scores_q[31:0]);
    for (int t = 1; t < 16; t++) begin
      if (5'(t) < sm1_count && $signed(sm1_scores_q[32*t +: 32]) > sm1_max) sm1_max = $signed(sm1_scores_q[32*t +: 32]);
    end
  end
  assign sm1_ceil  = $signed({sm1_max[31], sm1_max[31:16]}) + $signed({16'd0, |sm1_max[15:0]});
  assign sm1_m_old = m_mem[sm1_slot];
  assign sm1_raise = {sm1_ceil[16], sm1_ceil} - {sm1_m_old[16], sm1_m_old};
  assign sm1_shift = (sm1_first || sm1_raise <= 0) ? 7'd0 : (sm1_raise > 18'sd126) ? MaxShift : sm1_raise[6:0];
  assign sm1_m_new = (sm1_first || sm1_raise > 0) ? sm1_ceil : sm1_m_old;

  for (genvar t = 0; t < 16; t++) begin : gen_magnitude
    // m * 2^16 - S >= 0 (34 bits signed); the sign bit is known to be 0.
    /* verilator lint_off UNUSEDSIGNAL */
    logic [33:0] diff;
    /* verilator lint_on UNUSEDSIGNAL */
    assign diff = {sm1_m_new[16], sm1_m_new, 16'b0} - {{2{sm1_scores_q[32*t+31]}}, sm1_scores_q[32*t +: 32]};
    // Positions beyond the tile's count get p = 0 (magnitude beyond 2^21).
    assign sm1_mag[33*t +: 33] = (5'(t) < sm1_count) ? diff[32:0] : {33{1'b1}};
  end

  always_ff @(posedge clk_i) begin
    if (sm1_valid_q && sm1_active) m_mem[sm1_slot] <= sm1_m_new;
  end

  // tp_exp2: 16 lanes; the item's metadata and shift ride in the sideband.
  localparam int unsigned XUserW = MetaW + 7;
  logic               x_valid;
  logic [271:0]       x_p;                // 16 x 17
  logic [XUserW-1:0]  x_user;
  /* verilator lint_off UNUSEDSIGNAL */
  logic               x_in_ready;         // always high: the output is never stalled
  /* verilator lint_on UNUSEDSIGNAL */

  tp_exp2 #(
    .Lanes    (16),
    .InWidth  (33),
    .UserWidth(XUserW)
  ) u_exp2 (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .in_valid_i (sm1_valid_q),
    .in_ready_o (x_in_ready),
    .in_mag_i   (sm1_mag),
    .in_user_i  ({sm1_shift, sm1_meta_q}),
    .out_valid_o(x_valid),
    .out_ready_i(1'b1),
    .out_data_o (x_p),
    .out_user_o (x_user)
  );

  // SM2: l update at the exp2 output, in item order.
  logic [MetaW-1:0] x_meta;
  logic [6:0]       x_shift;
  logic [SlotW-1:0] x_slot;
  logic             x_active, x_first;
  logic [21:0]      x_psum;
  logic [SumW-1:0]  x_l_old, x_l_new;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [SumW:0]    x_l_halved;           // (l >> (shift - 1)) + 1; its LSB is dropped
  /* verilator lint_on UNUSEDSIGNAL */

  assign x_meta   = x_user[MetaW-1:0];
  assign x_shift  = x_user[XUserW-1 -: 7];
  assign x_slot   = x_meta[SlotW-1:0];
  assign x_active = x_meta[SlotW+1];
  assign x_first  = x_meta[SlotW+7];
  always_comb begin
    x_psum = '0;
    for (int t = 0; t < 16; t++) x_psum = x_psum + 22'(x_p[17*t +: 17]);
  end
  assign x_l_old    = l_mem[x_slot];
  assign x_l_halved = {1'b0, x_l_old >> (x_shift - 7'd1)} + 1'b1;
  assign x_l_new    = (x_first ? '0 : (x_shift == 7'd0) ? x_l_old : x_l_halved[SumW:1]) + SumW'(x_psum);

  always_ff @(posedge clk_i) begin
    if (x_valid && x_active) l_mem[x_slot] <= x_l_new;
  end

  // ================================================= P x V (PV) ===
  // PV issue: holds the item for its kb V beats (1 cycle if inactive).
  logic             pv_valid_q;
  logic [MetaW-1:0] pv_meta_q;
  logic [6:0]       pv_shift_q;
  logic [271:0]     pv_p_q;
  logic [SumW-1:0]  pv_l_q;
  logic [3:0]       pv_beat_q;
  logic [RingW-1:0] pv_buf_q;
  logic             pv_item_end;

  assign pv_item_end = (pv_beat_q == 4'(kb - 5'd1));

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      pv_valid_q <= 1'b0;
      pv_buf_q   <= '0;
    end else begin
      if (x_valid) pv_valid_q <= 1'b1;
      else if (pv_valid_q && pv_item_end) pv_valid_q <= 1'b0;
      // The segment buffer advances after an item that releases it.
      if (pv_valid_q && pv_item_end && pv_meta_q[MetaW-1]) pv_buf_q <= pv_buf_q + 1'b1;
    end
  end
  always_ff @(posedge clk_i) begin
    if (x_valid) begin
      pv_meta_q  <= x_meta;
      pv_shift_q <= x_shift;
      pv_p_q     <= x_p;
      pv_l_q     <= x_l_new;
      pv_beat_q  <= '0;
    end else if (pv_valid_q) begin
      pv_beat_q  <= pv_beat_q + 4'd1;
    end
  end

  // V1: V beat and V scales (synchronous reads), p * vs.m per row.
  logic             v1_valid_q, v1_item_end_q, v1_first_beat_q;
  logic [MetaW-1:0] v1_meta_q;
  logic [6:0]       v1_shift_q;
  logic [SumW-1:0]  v1_l_q;
  logic [3:0]       v1_beat_q;
  logic [271:0]     v1_p_q;
  logic [511:0]     v1_v_q;
  logic [255:0]     v1_scales_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) v1_valid_q <= 1'b0;
    else v1_valid_q <= pv_valid_q;
  end
  always_ff @(posedge clk_i) begin
    if (pv_valid_q) begin
      v1_v_q          <= seg_mem[{pv_buf_q, 5'(kb) + {1'b0, pv_beat_q}}];
      v1_scales_q     <= vscale_mem[pv_buf_q];
      v1_meta_q       <= pv_meta_q;
      v1_shift_q      <= pv_shift_q;
      v1_l_q          <= pv_l_q;
      v1_p_q          <= pv_p_q;
      v1_beat_q       <= pv_beat_q;
      v1_item_end_q   <= pv_item_end;
      v1_first_beat_q <= (pv_beat_q == '0);
    end
  end

  // V2: per lane j (row r = j >> lw), x_j = p_r * vs_r.m * v_j (36 bits) and
  // the shift vs_r.e + 16.
  logic             v2_valid_q, v2_item_end_q, v2_first_beat_q;
  logic [MetaW-1:0] v2_meta_q;
  logic [6:0]       v2_shift_q;
  logic [SumW-1:0]  v2_l_q;
  logic [2303:0]    v2_x_q;              // 64 x 36
  logic [47:0]      v2_vsh_q;            // 8 x 6 signed: vs.e + 16 in [-23, 21]
  logic [2303:0]    v1_x;
  logic [47:0]      v1_vsh;
  logic             v1_scale_bad;

  logic [223:0] v1_pm;                  // 8 x 28: p * vs.m per row
  logic [7:0]   v1_row_bad;
  for (genvar r = 0; r < 8; r++) begin : gen_pv_row
    logic [3:0]        row_slot;
    logic [15:0]       code;
    logic [10:0]       vm;
    logic signed [7:0] ve;
    assign row_slot = 4'(v1_beat_q << (3'd6 - lw)) + 4'(r);
    assign code     = v1_scales_q[16*row_slot +: 16];
    assign vm       = (code == 16'd0) ? 11'd0 : {1'b1, code[9:0]};
    assign ve       = $signed({2'b0, code[15:10]}) - 8'sd40;
    assign v1_pm[28*r +: 28] = 28'(v1_p_q[17*row_slot +: 17] * vm);
    // Exponents above 5 are flagged and clamped (the sum would outgrow AccWidth).
    // (Only a row with p != 0 adds a term: masked rows carry stale bytes.)
    assign v1_row_bad[r]     = (r < (8 >> (lw - 3'd3))) && code != 16'd0 && ve > 8'sd5 && v1_p_q[17*row_slot +: 17] != '0;
    assign v1_vsh[6*r +: 6]  = (ve > 8'sd5) ? 6'sd21 : 6'(ve + 8'sd16);
  end
  assign v1_scale_bad = v1_valid_q && v1_meta_q[SlotW+1] && (|v1_row_bad);
  for (genvar j = 0; j < 64; j++) begin : gen_pv_product
    logic [2:0] row;
    assign row = 3'(j >> lw);
    assign v1_x[36*j +: 36] = 36'($signed({1'b0, v1_pm[28*row +: 28]}) * $signed(v1_v_q[8*j +: 8]));
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) v2_valid_q <= 1'b0;
    else v2_valid_q <= v1_valid_q;
  end
  always_ff @(posedge clk_i) begin
    v2_x_q          <= v1_x;
    v2_vsh_q        <= v1_vsh;
    v2_meta_q       <= v1_meta_q;
    v2_shift_q      <= v1_shift_q;
    v2_l_q          <= v1_l_q;
    v2_item_end_q   <= v1_item_end_q;
    v2_first_beat_q <= v1_first_beat_q;
  end

  // V3: term_j = round_shift(x_j, vs_r.e + 16).
  logic             v3_valid_q, v3_item_end_q, v3_first_beat_q;
  logic [MetaW-1:0] v3_meta_q;
  logic [6:0]       v3_shift_q;
  logic [SumW-1:0]  v3_l_q;
  logic [TermW*64-1:0] v3_term_q;
  logic [TermW*64-1:0] v2_term;

  // One right shifter serves both directions: with x aligned 23 bits up,
  // t = (x << 23) >>> (22 - s) is x << (s + 1) for s >= 0 (exact) and
  // floor(x / 2^(-s-1)) for s < 0; then (t + [s < 0]) >>> 1 = round_shift(x, s).
  for (genvar j = 0; j < 64; j++) begin : gen_pv_round
    logic [2:0]              row;
    logic signed [5:0]       s;
    logic signed [58:0]      aligned;   // x * 2^23, x 36 bits
    logic signed [58:0]      t;
    assign row     = 3'(j >> lw);
    assign s       = $signed(v2_vsh_q[6*row +: 6]);
    assign aligned = {v2_x_q[36*j +: 36], 23'd0};
    assign t       = aligned >>> (6'd22 - 6'(s));  // 1 .. 45
    assign v2_term[TermW*j +: TermW] = TermW'((t + {58'd0, s[5]}) >>> 1);
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) v3_valid_q <= 1'b0;
    else v3_valid_q <= v2_valid_q;
  end
  always_ff @(posedge clk_i) begin
    v3_term_q       <= v2_term;
    v3_meta_q       <= v2_meta_q;
    v3_shift_q      <= v2_shift_q;
    v3_l_q          <= v2_l_q;
    v3_item_end_q   <= v2_item_end_q;
    v3_first_beat_q <= v2_first_beat_q;
  end

  // V4: fold the rows of the beat onto the elements (lane i < pitch sums lanes
  // i, i + pitch, ...) and add to the item's tile sum.
  logic [AW*64-1:0] tile_sum_q, tile_sum_d;
  logic [AW*64-1:0] fold64, fold32, fold16, fold8;   // after folding halves of 32, 16, 8 lanes
  for (genvar j = 0; j < 64; j++) begin : gen_fold
    assign fold64[AW*j +: AW] = AW'($signed(v3_term_q[TermW*j +: TermW]));
    if (j < 32) begin : gen_fold32
      assign fold32[AW*j +: AW] = (lw <= 3'd5) ? fold64[AW*j +: AW] + fold64[AW*(j+32) +: AW] : fold64[AW*j +: AW];
    end else begin : gen_keep32
      assign fold32[AW*j +: AW] = fold64[AW*j +: AW];
    end
    if (j < 16) begin : gen_fold16
      assign fold16[AW*j +: AW] = (lw <= 3'd4) ? fold32[AW*j +: AW] + fold32[AW*(j+16) +: AW] : fold32[AW*j +: AW];
    end else begin : gen_keep16
      assign fold16[AW*j +: AW] = fold32[AW*j +: AW];
    end
    if (j < 8) begin : gen_fold8
      assign fold8[AW*j +: AW] = (lw == 3'd3) ? fold16[AW*j +: AW] + fold16[AW*(j+8) +: AW] : fold16[AW*j +: AW];
    end else begin : gen_keep8
      assign fold8[AW*j +: AW] = fold16[AW*j +: AW];
    end
    assign tile_sum_d[AW*j +: AW] = (v3_first_beat_q ? AW'(0) : tile_sum_q[AW*j +: AW]) + fold8[AW*j +: AW];
  end
  always_ff @(posedge clk_i) begin
    if (v3_valid_q) tile_sum_q <= tile_sum_d;
  end

  // V5: after the item's last beat, acc = round_shift(acc, -shift) + tile sum,
  // one word of 8 elements per cycle (pitch / 8 words, within the pitch / 4
  // cycles before the next item's tile sum is complete).
  logic             v4_valid_q;
  logic [MetaW-1:0] v4_meta_q;
  logic [6:0]       v4_shift_q;
  logic [SumW-1:0]  v4_l_q;
  logic [AW*64-1:0] v4_sum_q;
  logic [2:0]       v4_word_q;
  logic             v4_word_last;

  assign v4_word_last = (v4_word_q == 3'((7'd1 << lw) / 7'd8 - 7'd1));

  always_ff @(posedge clk_i) begin
    if (!rst_ni) v4_valid_q <= 1'b0;
    else if (v3_valid_q && v3_item_end_q) v4_valid_q <= 1'b1;
    else if (v4_word_last) v4_valid_q <= 1'b0;
  end
  always_ff @(posedge clk_i) begin
    if (v3_valid_q && v3_item_end_q) begin
      v4_sum_q   <= tile_sum_d;
      v4_meta_q  <= v3_meta_q;
      v4_shift_q <= v3_shift_q;
      v4_l_q     <= v3_l_q;
      v4_word_q  <= '0;
    end else if (v4_valid_q) begin
      v4_word_q  <= v4_word_q + 3'd1;
    end
  end

  // Accumulators: word {parity, slot, w} holds elements 8w .. 8w+7.
  logic [AW*8-1:0]  acc_mem [2*MaxSlots*8];
  logic [SlotW-1:0] v4_slot;
  logic             v4_par, v4_active, v4_first, v4_last_tile, v4_release;
  logic [AW*8-1:0]  acc_old, acc_new, v4_sum_word;

  assign v4_slot      = v4_meta_q[SlotW-1:0];
  assign v4_par       = v4_meta_q[SlotW];
  assign v4_active    = v4_meta_q[SlotW+1];
  assign v4_first     = v4_meta_q[SlotW+7];
  assign v4_last_tile = v4_meta_q[SlotW+8];
  assign v4_release   = v4_meta_q[MetaW-1];
  assign acc_old      = acc_mem[{v4_par, v4_slot, v4_word_q}];
  assign v4_sum_word  = v4_sum_q[AW*8*v4_word_q +: AW*8];

  // round_shift(acc, -shift): 0 once shift >= AccWidth (|acc| < 2^(AW-1)).
  for (genvar i = 0; i < 8; i++) begin : gen_rescale
    logic signed [AW-1:0] a, halved, scaled;
    assign a      = $signed(acc_old[AW*i +: AW]);
    assign halved = ((a >>> (v4_shift_q - 7'd1)) + AW'(1)) >>> 1;
    assign scaled = v4_first ? '0 : (v4_shift_q == 7'd0) ? a : (v4_shift_q >= 7'(AW)) ? '0 : halved;
    assign acc_new[AW*i +: AW] = scaled + $signed(v4_sum_word[AW*i +: AW]);
  end

  always_ff @(posedge clk_i) begin
    if (v4_valid_q && v4_active) acc_mem[{v4_par, v4_slot, v4_word_q}] <= acc_new;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) rel_ptr_q <= '0;
    else if (v4_valid_q && v4_word_last && v4_release) rel_ptr_q <= rel_ptr_q + 1'b1;
  end

  // ================================================= finalize ===
  // Queue of finished slots {par, slot, l}; at most two jobs' slots.
  localparam int unsigned FinW = SumW + SlotW + 1;
  logic [FinW-1:0]  fin_mem [2*MaxSlots];
  logic [SlotW+1:0] fin_wr_q, fin_rd_q;
  logic             fin_push, fin_pop;

  assign fin_push = v4_valid_q && v4_word_last && v4_active && v4_last_tile;
  always_ff @(posedge clk_i) begin
    if (fin_push) fin_mem[fin_wr_q[SlotW:0]] <= {v4_par, v4_slot, v4_l_q};
  end

  // tp_reciprocal computes floor(2^46 / l) of one slot per cycle; the output
  // stage takes its results in order and emits ceil(head_size / 8) beats each.
  logic             div_in_ready, div_out_valid, div_out_take;
  logic [31:0]      div_inv;
  logic [SlotW:0]   div_user;            // {par, slot}
  /* verilator lint_off UNUSEDSIGNAL */
  logic             div_range;           // l <= 2^14 cannot happen (l >= 2^15)
  /* verilator lint_on UNUSEDSIGNAL */
  logic [FinW-1:0]  fin_head;

  assign fin_pop  = (fin_rd_q != fin_wr_q) && div_in_ready;
  assign fin_head = fin_mem[fin_rd_q[SlotW:0]];

  tp_reciprocal #(
    .DivisorWidth(SumW),
    .NumExp      (46),
    .QuotientBits(32),
    .BitsPerStage(2),
    .UserWidth   (SlotW + 1)
  ) u_reciprocal (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .in_valid_i (fin_rd_q != fin_wr_q),
    .in_ready_o (div_in_ready),
    .in_d_i     (fin_head[SumW-1:0]),
    .in_user_i  (fin_head[FinW-1:SumW]),
    .out_valid_o(div_out_valid),
    .out_ready_i(div_out_take),
    .out_q_o    (div_inv),
    .out_range_o(div_range),
    .out_user_o (div_user)
  );

  logic             fn_valid_q;          // the output stage holds a slot
  logic [31:0]      fn_inv_q;            // floor(2^46 / l) <= 2^31
  logic             fn_par_q;
  logic [SlotW-1:0] fn_slot_q;
  logic [2:0]       fn_beat_q;
  logic [SlotW:0]   fn_done_q [2];       // slots output per parity
  logic [2:0]       fn_last_beat;
  logic             fn_job_last_slot;
  logic             out_free, fn_emit, fn_slot_end;

  assign fn_last_beat     = 3'((hs - 7'd1) >> 3);
  assign fn_job_last_slot = (fn_done_q[fn_par_q] + 1'b1) == job_slots_q[fn_par_q];
  assign out_free         = !out_valid_o || out_ready_i;
  assign fn_emit          = fn_valid_q && out_free;
  assign fn_slot_end      = fn_emit && fn_beat_q == fn_last_beat;
  assign div_out_take     = !fn_valid_q || fn_slot_end;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      fn_valid_q   <= 1'b0;
      fin_wr_q     <= '0;
      fin_rd_q     <= '0;
      fn_done_q[0] <= '0;
      fn_done_q[1] <= '0;
    end else begin
      if (fin_push) fin_wr_q <= fin_wr_q + 1'b1;
      if (fin_pop) fin_rd_q <= fin_rd_q + 1'b1;
      if (div_out_take) fn_valid_q <= div_out_valid;
      if (fn_slot_end) fn_done_q[fn_par_q] <= fn_job_last_slot ? '0 : fn_done_q[fn_par_q] + 1'b1;
    end
  end

  always_ff @(posedge clk_i) begin
    if (div_out_take && div_out_valid) begin
      {fn_par_q, fn_slot_q} <= div_user;
      fn_inv_q  <= div_inv;
      fn_beat_q <= '0;
    end else if (fn_emit) begin
      fn_beat_q <= fn_beat_q + 3'd1;
    end
  end

  // Output beat: 8 lanes of sat32(round_shift(o * inv, -46)).
  logic [AW*8-1:0]  fn_acc;
  logic [255:0]     fn_out;
  assign fn_acc = acc_mem[{fn_par_q, fn_slot_q, fn_beat_q}];
  for (genvar i = 0; i < 8; i++) begin : gen_normalise
    logic [5:0]            elem;
    logic signed [AW+32:0] prod, rounded;
    assign elem    = {fn_beat_q, 3'(i)};
    assign prod    = $signed(fn_acc[AW*i +: AW]) * $signed({1'b0, fn_inv_q});
    assign rounded = ((prod >>> 45) + (AW+33)'(1)) >>> 1;
    assign fn_out[32*i +: 32] = ({1'b0, elem} >= hs) ? 32'd0 :
                                (rounded > (AW+33)'(I32Max)) ? I32Max :
                                (rounded < -(AW+33)'(64'sh8000_0000)) ? I32Min : rounded[31:0];
  end

  logic out_valid_q;
  assign out_valid_o = out_valid_q;
  always_ff @(posedge clk_i) begin
    if (!rst_ni) out_valid_q <= 1'b0;
    else if (out_free) out_valid_q <= fn_emit;
  end
  always_ff @(posedge clk_i) begin
    if (fn_emit) begin
      out_data_o <= fn_out;
      out_slot_o <= fn_slot_q;
      out_last_o <= fn_job_last_slot && fn_beat_q == fn_last_beat;
    end
  end

  // ================================================= job bookkeeping ===
  logic fn_job_done;
  assign fn_job_done = fn_slot_end && fn_job_last_slot;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      busy_q      <= '0;
      issued_q    <= '0;
      load_par_q  <= 1'b0;
      load_slot_q <= '0;
    end else begin
      if (q_fire) begin
        load_slot_q <= q_job_end ? '0 : load_slot_q + 1'b1;
        if (q_job_end) load_par_q <= ~load_par_q;
      end
      if (issue_go && job_issue_end) issued_q[comp_par_q] <= 1'b1;
      for (int p = 0; p < 2; p++) begin
        if (q_fire && q_job_end && load_par_q == 1'(p)) busy_q[p] <= 1'b1;
        else if (fn_job_done && fn_par_q == 1'(p)) begin
          busy_q[p]   <= 1'b0;
          issued_q[p] <= 1'b0;
        end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (q_fire) begin
      load_maxpos_q <= load_maxpos_d;
      if (q_job_end) begin
        job_slots_q[load_par_q]     <= {1'b0, load_slot_q} + 1'b1;
        job_last_tile_q[load_par_q] <= load_maxpos_d[PosW-1:4];
      end
    end
  end

  assign busy_o = |busy_q;

  // ================================================= errors, counters ===
  assign err_cfg_d   = (q_fire || issue_go) && cfg_bad;
  assign err_frame_d = frame_bad ||
                       (kv_fire && !kv_err_i &&
                        (kv_seg_last_i != (rx_beat_q == {kb, 1'b0}) || (kv_job_last_i && !kv_seg_last_i)));
  assign err_read_d  = kv_fire && kv_err_i;
  assign err_scale_d = v1_scale_bad;
  assign err_query_d = q_fire && ((q_scale_m_i != 11'd0 && !q_scale_m_i[10]) || ((&load_slot_q) && !q_last_i));

  logic [CounterWidth-1:0] perf_busy_q, perf_kv_beats_q, perf_kv_wait_q;
  assign perf_busy_o     = perf_busy_q;
  assign perf_kv_beats_o = perf_kv_beats_q;
  assign perf_kv_wait_o  = perf_kv_wait_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      err_q           <= '0;
      perf_busy_q     <= '0;
      perf_kv_beats_q <= '0;
      perf_kv_wait_q  <= '0;
    end else begin
      err_q <= err_q | {err_read_d, err_query_d, err_scale_d, err_frame_d, err_cfg_d};
      if (busy_o) perf_busy_q <= perf_busy_q + 1'b1;
      if (kv_fire) perf_kv_beats_q <= perf_kv_beats_q + 1'b1;
      if (comp_active_q && !seg_ready) perf_kv_wait_q <= perf_kv_wait_q + 1'b1;
    end
  end

  // ----------------------------------------------------------- assertions ---
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(512 + 11 + 8 + PosW + 1), .Name("tp_attention_engine q")) u_q_check (
    .clk_i, .rst_ni, .valid_i(q_valid_i), .ready_i(q_ready_o),
    .data_i({q_data_i, q_scale_m_i, q_scale_e_i, q_pos_i, q_last_i})
  );
  tp_stream_checker #(.Width(515), .Name("tp_attention_engine kv")) u_kv_check (
    .clk_i, .rst_ni, .valid_i(kv_valid_i), .ready_i(kv_ready_o),
    .data_i({kv_data_i, kv_seg_last_i, kv_job_last_i, kv_err_i})
  );
  tp_stream_checker #(.Width(256 + SlotW + 1), .Name("tp_attention_engine out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i),
    .data_i({out_data_o, out_slot_o, out_last_o})
  );

  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      // The P x V stage takes a new item only as the previous one ends.
      assert (!(x_valid && pv_valid_q && !pv_item_end))
        else $error("tp_attention_engine: P x V item overlap");
      assert (!(v3_valid_q && v3_item_end_q && v4_valid_q && !v4_word_last))
        else $error("tp_attention_engine: accumulator update overlap");
      // A released segment is the one the P x V stage read.
      assert (!(v4_valid_q && v4_release) || rel_ptr_q != qk_ptr_q)
        else $error("tp_attention_engine: segment released before it was issued");
      assert (!(fin_push && (fin_wr_q - fin_rd_q) == (SlotW+2)'(2*MaxSlots)))
        else $error("tp_attention_engine: finalize queue overflow");
    end
  end
`endif

endmodule
