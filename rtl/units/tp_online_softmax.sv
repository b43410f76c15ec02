// tp_online_softmax: the running max and sum of one query's base-2 online
// softmax over tiles of scores, bit exact with the golden class
// tp::fx::OnlineSoftmax (golden/int/attention.cpp).
//
// Per tile (the scores of one KV page, in order) the golden model does
//   shift = start_tile(max of the tile's scores):
//     c = ceil(tile_max / 2^16) = (tile_max + 65535) >>> 16;
//     first tile of the query: m = c, shift 0; else if c > m:
//     shift = min(c - m, 126), l = round_shift(l, -shift), m = c; else 0;
//   p = weight(score) for each score in order:
//     p = exp2_neg(score - m * 2^16) (tp_exp2), l += p;
// and at the end of the query hands out l and m. m is an integer (the
// ceiling of every score seen), so each rescale is an exact shift.
//
// Input stream: one score per beat, int32 Q16.16 in log2 units, with
//   in_last_tile_i   last score of its tile,
//   in_last_query_i  last score of the query (ends its tile too).
// A tile ends at either flag or after TileSize scores, whichever comes first.
// Output stream: one ordered stream of tagged beats (out_kind_o):
//   KindShift  (1)  once per tile, before its weights: out_shift_o = the right
//                   shift (round_shift) the attention engine applies to its
//                   P*V accumulators before adding this tile's terms (0 for
//                   the first tile of a query and whenever m does not rise);
//   KindWeight (0)  one per score, in score order: out_p_o = p in Q0.16;
//   KindFinal  (2)  once per query, after its last weight: out_sum_o = l
//                   (unsigned, SumWidth bits) and out_max_o = m (signed).
// Fields not named for a kind are undefined on it.
//
// Structure: the unit must see a whole tile before it knows the tile's max,
// so it buffers tiles in a 2 x TileSize score RAM (LUTRAM, ping-pong: one
// tile fills while the other drains). The drain side issues the tile's shift
// beat, then m * 2^16 - score for every buffered score, then the final beat,
// through one issue register into tp_exp2 (InWidth 33: the magnitude reaches
// 2^32 when m = 32768 and the score is -2^31); the kind, a first-tile flag and
// the shift (or m) ride along in tp_exp2's user sideband. The sum l is kept
// at the output and updated in stream order as beats leave: the first tile's
// shift beat clears it, a shift beat shifts it, a weight adds p.
//
// Timing (sink ready, unit idle):
//   latency     the shift beat of a tile leaves 6 cycles after the tile's last
//               score was accepted (edge k -> k+6: issue register k+1, tp_exp2
//               k+2..k+6), its weights follow one per cycle, the query's final
//               beat right after the last weight;
//   throughput  the output carries one beat per cycle: a tile of c scores
//               costs c + 1 cycles (c + 2 for the last tile of a query); the
//               input takes one score per cycle while a buffer is free
//               (16 scores per 17 cycles in steady state with TileSize 16);
//   in_ready_o  a function of flops only (the buffer being filled is free);
//   out_*       driven by tp_exp2's output registers and the sum register.
// Synchronous active-low reset on control (buffer flags and pointers, state,
// valids); the score RAM, the tile descriptors, m and l have none (l is
// cleared by the first tile of every query).
// Resources: one tp_exp2 lane (1 DSP48E2), 2 x TileSize x 32 LUTRAM bits,
// two tile descriptors, a 33-bit subtractor, a 32-bit max comparator, the
// SumWidth-bit accumulator with its rounding shifter.
module tp_online_softmax #(
  parameter int unsigned TileSize  = tp_pkg::PageSize,   // scores per tile at most (power of 2, >= 2)
  parameter int unsigned MaxScores = tp_pkg::MaxSeqLen,  // scores per query at most (>= 1): bounds l
  // Bits of the sum l <= MaxScores * 2^16: $clog2(MaxScores) + 17 (27 by default).
  parameter int unsigned SumWidth  = $clog2(MaxScores) + 17
) (
  input  logic                clk_i,
  input  logic                rst_ni,           // synchronous reset, active low
  // Input stream: scores of one query in order.
  input  logic                in_valid_i,
  output logic                in_ready_o,       // high while the filling buffer is free
  input  logic [31:0]         in_score_i,       // int32, Q16.16 log2 units
  input  logic                in_last_tile_i,   // last score of its tile
  input  logic                in_last_query_i,  // last score of the query (and of its tile)
  // Output stream: per tile a shift beat then its weights; per query a final beat.
  output logic                out_valid_o,
  input  logic                out_ready_i,
  output logic [1:0]          out_kind_o,       // 0 weight, 1 shift, 2 final
  output logic [16:0]         out_p_o,          // weight: p in Q0.16 (65536 = 1.0)
  output logic [6:0]          out_shift_o,      // shift: right shift of the accumulators, 0..126
  output logic [SumWidth-1:0] out_sum_o,        // final: l, unsigned Q16.16 sum of the p
  output logic [16:0]         out_max_o         // final: m, signed integer (ceil of the max score)
);

  // ------------------------------------------------------ parameter check ---
  if (TileSize < 2 || (1 << $clog2(TileSize)) != TileSize) begin : gen_tile_size_check
    $error("tp_online_softmax: TileSize must be a power of 2, >= 2");
  end
  if (MaxScores == 0) begin : gen_max_scores_check
    $error("tp_online_softmax: MaxScores must be >= 1");
  end
  if (SumWidth < $clog2(MaxScores) + 17) begin : gen_sum_width_check
    $error("tp_online_softmax: SumWidth must be >= $clog2(MaxScores) + 17");
  end

  localparam int unsigned IdxWidth  = $clog2(TileSize);
  localparam int unsigned DescWidth = 17 + IdxWidth + 1;  // {last_query, last_idx, ceil}
  localparam int unsigned MagWidth  = 33;                 // m * 2^16 - score in [0, 2^32]
  localparam int unsigned UserWidth = 20;                 // {first, kind, aux} through tp_exp2
  localparam logic [1:0]  KindWeight = 2'd0;
  localparam logic [1:0]  KindShift  = 2'd1;
  localparam logic [1:0]  KindFinal  = 2'd2;
  // Drain (issue) states.
  localparam logic [1:0]  StShift  = 2'd0;  // wait for a full buffer, issue its shift beat
  localparam logic [1:0]  StWeight = 2'd1;  // issue the buffered scores one by one
  localparam logic [1:0]  StFinal  = 2'd2;  // issue the query's final beat

  // ========================================================= fill side ===
  logic                 wr_buf_q;     // buffer being filled
  logic [IdxWidth-1:0]  wr_idx_q;     // next score's place in it
  logic signed [31:0]   fill_max_q;   // max of the tile's scores so far
  logic signed [31:0]   tile_max_d;
  logic [16:0]          ceil_d;       // ceil(tile_max / 2^16), signed
  logic [DescWidth-1:0] desc_d, desc0_q, desc1_q;
  logic [1:0]           full_q, full_d;  // buffer holds a complete tile
  logic                 in_fire, tile_end;

  assign in_ready_o = ~full_q[wr_buf_q];
  assign in_fire    = in_valid_i & in_ready_o;
  assign tile_end   = in_last_tile_i | in_last_query_i | (&wr_idx_q);
  assign tile_max_d = (wr_idx_q == '0 || $signed(in_score_i) > fill_max_q) ? $signed(in_score_i) : fill_max_q;
  // (tile_max + 65535) >>> 16: the integer part, plus one for any fraction.
  assign ceil_d     = {tile_max_d[31], tile_max_d[31:16]} + {16'd0, |tile_max_d[15:0]};
  // Descriptor of the tile: its last index, its ceiling and its query end.
  assign desc_d     = {in_last_query_i, wr_idx_q, ceil_d};

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      wr_buf_q <= 1'b0;
      wr_idx_q <= '0;
    end else if (in_fire) begin
      wr_buf_q <= wr_buf_q ^ tile_end;
      wr_idx_q <= tile_end ? '0 : wr_idx_q + 1'b1;
    end
  end

  // Score RAM (2 x TileSize words, LUTRAM): score i of buffer b at {b, i}.
  logic [31:0] score_mem [2*TileSize];
  logic [31:0] rd_score;
  logic        rd_buf_q;
  logic [IdxWidth-1:0] rd_idx_q;

  always_ff @(posedge clk_i) begin
    if (in_fire) begin
      score_mem[{wr_buf_q, wr_idx_q}] <= in_score_i;
      fill_max_q <= tile_max_d;
      if (tile_end) begin
        if (wr_buf_q) desc1_q <= desc_d;
        else desc0_q <= desc_d;
      end
    end
  end
  assign rd_score = score_mem[{rd_buf_q, rd_idx_q}];

  // ======================================================== drain side ===
  logic [1:0]           st_q, st_d;
  logic                 rd_buf_d;
  logic [IdxWidth-1:0]  rd_idx_d;
  logic                 started_q, started_d;  // a tile of this query was issued
  logic signed [16:0]   m_q, m_d;              // running max (integer)
  logic [DescWidth-1:0] rd_desc;
  logic signed [16:0]   rd_ceil;
  logic [IdxWidth-1:0]  rd_last;
  logic                 rd_last_query;
  logic signed [17:0]   raise;                 // rd_ceil - m
  logic [6:0]           shift;
  // m * 2^16 - score, 34 bits signed, >= 0 for a score of the current tile:
  // the sign bit is only read by an assertion.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [33:0]          weight_diff;
  /* verilator lint_on UNUSEDSIGNAL */
  logic                 issue_go, release_buf;
  logic [MagWidth-1:0]  issue_mag_d;
  logic [UserWidth-1:0] issue_user_d;
  // Issue register: the input of tp_exp2.
  logic                 issue_valid_q, issue_free;
  logic [MagWidth-1:0]  issue_mag_q;
  logic [UserWidth-1:0] issue_user_q;
  logic                 x_in_ready;

  assign rd_desc       = rd_buf_q ? desc1_q : desc0_q;
  assign rd_ceil       = rd_desc[16:0];
  assign rd_last       = rd_desc[17 +: IdxWidth];
  assign rd_last_query = rd_desc[DescWidth-1];
  assign raise         = {rd_ceil[16], rd_ceil} - {m_q[16], m_q};
  // start_tile: shift only when m rises on a later tile; capped at 126.
  assign shift         = (!started_q || raise <= 0) ? 7'd0 : (raise > 18'sd126) ? 7'd126 : raise[6:0];
  assign weight_diff   = {m_q[16], m_q, 16'b0} - {{2{rd_score[31]}}, rd_score};
  assign issue_free    = ~issue_valid_q | x_in_ready;

  always_comb begin
    issue_go     = 1'b0;
    release_buf  = 1'b0;
    issue_mag_d  = '0;
    issue_user_d = '0;
    st_d         = st_q;
    rd_buf_d     = rd_buf_q;
    rd_idx_d     = rd_idx_q;
    started_d    = started_q;
    m_d          = m_q;
    unique case (st_q)
      StShift: begin
        if (full_q[rd_buf_q]) begin
          issue_go     = 1'b1;
          issue_user_d = {~started_q, KindShift, 10'd0, shift};
          m_d          = (!started_q || raise > 0) ? rd_ceil : m_q;
          started_d    = 1'b1;
          rd_idx_d     = '0;
          st_d         = StWeight;
        end
      end
      StWeight: begin
        issue_go     = 1'b1;
        issue_mag_d  = weight_diff[MagWidth-1:0];
        issue_user_d = {1'b0, KindWeight, 17'd0};
        if (rd_idx_q == rd_last) begin
          release_buf = 1'b1;
          rd_buf_d    = ~rd_buf_q;
          st_d        = rd_last_query ? StFinal : StShift;
        end else begin
          rd_idx_d = rd_idx_q + 1'b1;
        end
      end
      StFinal: begin
        issue_go     = 1'b1;
        issue_user_d = {1'b0, KindFinal, m_q};
        started_d    = 1'b0;
        st_d         = StShift;
      end
      default: st_d = StShift;
    endcase
  end

  always_comb begin
    full_d = full_q;
    if (in_fire && tile_end) full_d[wr_buf_q] = 1'b1;
    if (issue_free && release_buf) full_d[rd_buf_q] = 1'b0;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      full_q        <= '0;
      st_q          <= StShift;
      rd_buf_q      <= 1'b0;
      rd_idx_q      <= '0;
      started_q     <= 1'b0;
      issue_valid_q <= 1'b0;
    end else begin
      full_q <= full_d;
      if (issue_free) begin
        st_q          <= st_d;
        rd_buf_q      <= rd_buf_d;
        rd_idx_q      <= rd_idx_d;
        started_q     <= started_d;
        issue_valid_q <= issue_go;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (issue_free) begin
      m_q          <= m_d;
      issue_mag_q  <= issue_mag_d;
      issue_user_q <= issue_user_d;
    end
  end

  // ============================================================== exp2 ===
  logic                 x_out_valid;
  logic [16:0]          x_out_p;
  logic [UserWidth-1:0] x_out_user;

  tp_exp2 #(
    .Lanes    (1),
    .InWidth  (MagWidth),
    .UserWidth(UserWidth)
  ) u_exp2 (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .in_valid_i (issue_valid_q),
    .in_ready_o (x_in_ready),
    .in_mag_i   (issue_mag_q),
    .in_user_i  (issue_user_q),
    .out_valid_o(x_out_valid),
    .out_ready_i(out_ready_i),
    .out_data_o (x_out_p),
    .out_user_o (x_out_user)
  );

  // ====================================================== output side ===
  logic                out_first;
  logic [16:0]         out_aux;
  logic [SumWidth-1:0] sum_q, sum_d;
  // (l >> (shift - 1)) + 1; its LSB is dropped by the final halving.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [SumWidth:0]   sum_halved;
  /* verilator lint_on UNUSEDSIGNAL */

  assign out_valid_o = x_out_valid;
  assign out_first   = x_out_user[19];
  assign out_kind_o  = x_out_user[18:17];
  assign out_aux     = x_out_user[16:0];
  assign out_p_o     = x_out_p;
  assign out_shift_o = out_aux[6:0];
  assign out_max_o   = out_aux;
  assign out_sum_o   = sum_q;

  // round_shift(l, -shift) = ((l >> (shift - 1)) + 1) >> 1 for shift >= 1;
  // 0 once shift > SumWidth (the shifter runs out of bits).
  assign sum_halved = {1'b0, sum_q >> (out_shift_o - 7'd1)} + 1'b1;

  always_comb begin
    sum_d = sum_q;
    unique case (out_kind_o)
      KindWeight: sum_d = sum_q + {{(SumWidth-17){1'b0}}, x_out_p};
      KindShift: begin
        if (out_first) sum_d = '0;
        else if (out_shift_o != 7'd0) sum_d = sum_halved[SumWidth:1];
      end
      default: sum_d = sum_q;
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (out_valid_o && out_ready_i) begin
      sum_q <= sum_d;
    end
  end

  // ----------------------------------------------------------- assertions ---
  // Immediate assertions (Verilator --assert): the handshake rules of both
  // ports, the score bound, the scores per query and the output kind.
`ifndef SYNTHESIS
  tp_stream_checker #(.Width(34), .Name("tp_online_softmax in")) u_in_check (
    .clk_i, .rst_ni, .valid_i(in_valid_i), .ready_i(in_ready_o),
    .data_i({in_last_query_i, in_last_tile_i, in_score_i})
  );
  tp_stream_checker #(.Width(SumWidth + 43), .Name("tp_online_softmax out")) u_out_check (
    .clk_i, .rst_ni, .valid_i(out_valid_o), .ready_i(out_ready_i),
    .data_i({out_kind_o, out_p_o, out_shift_o, out_sum_o, out_max_o})
  );

  logic [31:0] chk_weights_q;  // weights issued in this query

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      chk_weights_q <= '0;
    end else if (issue_free && issue_go) begin
      if (st_q == StWeight) chk_weights_q <= chk_weights_q + 1;
      else if (st_q == StFinal) chk_weights_q <= '0;
    end
  end

  always_ff @(posedge clk_i) begin
    if (rst_ni) begin
      if (issue_free && st_q == StWeight) begin
        assert (!weight_diff[33])
          else $error("tp_online_softmax: score above m * 2^16 (internal error)");
      end
      assert (chk_weights_q <= MaxScores)
        else $error("tp_online_softmax: more than MaxScores scores in one query: the sum may overflow");
      assert (!(out_valid_o && out_kind_o == 2'd3))
        else $error("tp_online_softmax: invalid output kind");
    end
  end
`endif

endmodule
