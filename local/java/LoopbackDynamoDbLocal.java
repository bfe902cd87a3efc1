// DynamoDB Local for local use only. Its own launcher builds a Jetty `new Server(port)`, which
// listens on every interface, and accepts any Host and any credentials; it has no option to
// change either (`java -jar DynamoDBLocal.jar -help` lists none). So any host on the network
// could read and write the local tables, and so could a web page through DNS rebinding (its
// requests are then same-origin and carry the attacker's Host name).
//
// This builds the server with DynamoDB Local's own command-line parsing, binds its connectors
// to 127.0.0.1, and puts a handler in front that refuses any Host that is not a loopback name
// and any request carrying an Origin header (no SDK sends one; every browser does on a
// cross-origin or rebinding request that could do harm). Run with Java's single-file source
// launcher (JEP 330), so nothing is compiled at install time.
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDbLocal {
  static boolean isLoopbackHost(String host) {
    if (host == null) return false;
    String name = host.startsWith("[") ? host.substring(0, host.indexOf(']') + 1) : host.replaceFirst(":\\d+$", "");
    return name.equals("127.0.0.1") || name.equalsIgnoreCase("localhost") || name.equals("[::1]");
  }

  static final class LocalRequestsOnly extends Handler.Wrapper {
    LocalRequestsOnly(Handler handler) {
      super(handler);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
      String host = request.getHeaders().get(HttpHeader.HOST);
      boolean hasOrigin = request.getHeaders().get(HttpHeader.ORIGIN) != null;
      if (!hasOrigin && isLoopbackHost(host)) return super.handle(request, response, callback);
      String reason = hasOrigin ? "requests from web pages (an Origin header) are refused" : "only loopback Host names are served";
      byte[] body = ("{\"__type\":\"com.amazonaws.dynamodb.v20120810#AccessDeniedException\",\"Message\":\"" + reason + "\"}").getBytes(StandardCharsets.UTF_8);
      response.setStatus(403);
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/x-amz-json-1.0");
      response.write(true, ByteBuffer.wrap(body), callback);
      return true;
    }
  }

  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    Connector[] connectors = server.getConnectors();
    if (connectors.length == 0) throw new IllegalStateException("DynamoDB Local built no connector to bind");
    for (Connector connector : connectors) ((ServerConnector) connector).setHost("127.0.0.1");
    server.setHandler(new LocalRequestsOnly(server.getHandler()));
    proxy.start();
    System.out.println("DynamoDB Local listening on 127.0.0.1");
  }
}
