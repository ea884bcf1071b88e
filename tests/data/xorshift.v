module xorshift (input clk, input rst, input en, output [15:0] value);
  reg [31:0] s;
  always @(posedge clk) begin
    if (rst) s <= 32'h12345678;
    else if (en) begin
      s <= s ^ (s << 13) ^ ((s ^ (s << 13)) >> 17);
    end
  end
  assign value = s[31:16];
endmodule
