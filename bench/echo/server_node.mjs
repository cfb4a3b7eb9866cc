// W9's Node echo server: net.createServer with noDelay, socket.pipe(socket).
// Listens on 127.0.0.1 at PORT (0: a free port), prints the port as its first
// stdout line, and echoes until killed.
// Run: node bench/echo/server_node.mjs PORT
import net from "node:net";

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.setNoDelay(true);
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
});
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log(server.address().port);
});
