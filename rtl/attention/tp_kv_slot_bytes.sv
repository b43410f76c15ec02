// tp_kv_slot_bytes: where one token slot of a KV segment lies and what its
// bytes are (golden/int/kv_layout.h): the slot's share of the scale beat
// (K code at bytes 2s, 2s+1, V code at 32+2s, 33+2s, little endian), its K
// row in beat k_beat and its V row in beat v_beat (pitch bytes at byte
// (s * pitch) mod 64; bytes from head_size up to the pitch are 0).
//
// tp_kv_port uses it twice: for the W beats of an append (data and byte
// strobes) and to patch an append into a segment read before it (forwarding).
// Purely combinational.
//
// part_i selects the beat: 0 the scale beat, 1 the K row's, 2 the V row's,
// 3 none (strobes 0). data_o holds the slot's bytes where strb_o is set
// (elsewhere: the same values repeated, which callers ignore).
module tp_kv_slot_bytes (
  input  logic [2:0]   pl_i,       // log2(pitch): 3 .. 6
  input  logic [6:0]   hs_i,       // head_size: 1 .. 64
  input  logic [3:0]   slot_i,     // 0 .. 15
  input  logic [1:0]   part_i,     // 0 scales, 1 K row, 2 V row, 3 none
  input  logic [511:0] k_row_i,    // int8 byte i at bits 8i+7:8i
  input  logic [511:0] v_row_i,
  input  logic [15:0]  k_code_i,   // kv_scale_code of the K scale
  input  logic [15:0]  v_code_i,
  output logic [5:0]   k_beat_o,   // the K row's beat in the segment: 1 .. 16
  output logic [5:0]   v_beat_o,   // the V row's beat: 3 .. 32
  output logic [511:0] data_o,
  output logic [63:0]  strb_o
);

  logic [9:0]   k_byte;      // slot * pitch (< 1024)
  logic [5:0]   row_byte;    // the row's first byte within its beat
  logic [511:0] row_sel, row_masked, row_rep;
  logic [63:0]  row_strb, scale_strb;

  assign k_byte   = 10'(slot_i) << pl_i;
  assign row_byte = k_byte[5:0];
  assign k_beat_o = 6'd1 + 6'(k_byte[9:6]);
  assign v_beat_o = k_beat_o + (6'd1 << (pl_i - 3'd2));  // + 16 * pitch / 64

  // The row zeroed from head_size on and repeated every pitch bytes, so the
  // slot's pitch bytes sit wherever the strobes put them.
  assign row_sel = part_i[1] ? v_row_i : k_row_i;

  for (genvar j = 0; j < 64; j++) begin : gen_row_byte
    assign row_masked[8*j +: 8] = (7'(j) < hs_i) ? row_sel[8*j +: 8] : 8'd0;
    always_comb begin
      unique case (pl_i)
        3'd3:    row_rep[8*j +: 8] = row_masked[8*(j % 8) +: 8];
        3'd4:    row_rep[8*j +: 8] = row_masked[8*(j % 16) +: 8];
        3'd5:    row_rep[8*j +: 8] = row_masked[8*(j % 32) +: 8];
        default: row_rep[8*j +: 8] = row_masked[8*j +: 8];
      endcase
    end
  end

  assign row_strb   = ~(~64'd0 << (7'd1 << pl_i)) << row_byte;
  assign scale_strb = (64'h3 << {slot_i, 1'b0}) | (64'h3 << (6'd32 + {1'b0, slot_i, 1'b0}));

  always_comb begin
    unique case (part_i)
      2'd0: begin
        data_o = {{16{v_code_i}}, {16{k_code_i}}};
        strb_o = scale_strb;
      end
      2'd3: begin
        data_o = row_rep;
        strb_o = '0;
      end
      default: begin
        data_o = row_rep;
        strb_o = row_strb;
      end
    endcase
  end

endmodule
