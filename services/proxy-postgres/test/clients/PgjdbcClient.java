import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * pgjdbc through the gateway: what a Java service does, one line per scenario
 * on stdout as "scenario<TAB>value". Connection details from the environment
 * (PCL_HOST, PCL_PORT, PCL_DB, PCL_USER, PCL_TOKEN; PCL_SCHEMA for the metadata calls).
 */
public class PgjdbcClient {
  static void report(String scenario, Object value) {
    System.out.println(scenario + "\t" + String.valueOf(value).replace('\n', ' '));
  }

  static Connection connect(String extra) throws SQLException {
    String url = "jdbc:postgresql://" + System.getenv("PCL_HOST") + ":" + System.getenv("PCL_PORT") + "/" + System.getenv("PCL_DB") + "?sslmode=require" + extra;
    Properties props = new Properties();
    props.setProperty("user", System.getenv("PCL_USER"));
    props.setProperty("password", System.getenv("PCL_TOKEN"));
    return DriverManager.getConnection(url, props);
  }

  static String rows(ResultSet rs) throws SQLException {
    List<String> out = new ArrayList<>();
    int n = rs.getMetaData().getColumnCount();
    while (rs.next()) {
      List<String> row = new ArrayList<>();
      for (int i = 1; i <= n; i++) row.add(rs.getString(i));
      out.add(String.join("|", row));
    }
    return String.join(";", out);
  }

  public static void main(String[] args) throws Exception {
    try (Connection conn = connect("")) {
      try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT current_setting('application_name'), current_setting('standard_conforming_strings')")) {
        report("connect", rows(rs));
      }

      // Past prepareThreshold (5): the driver switches to a named server-side statement and binary transfer.
      List<String> seen = new ArrayList<>();
      try (PreparedStatement ps = conn.prepareStatement("SELECT id, email, card_number FROM customers WHERE id = ?")) {
        for (int i = 0; i < 8; i++) {
          ps.setInt(1, i % 2 + 1);
          try (ResultSet rs = ps.executeQuery()) {
            seen.add(rows(rs));
          }
        }
      }
      report("prepared", String.join(";", seen));
      try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%FROM customers WHERE id%'")) {
        report("server-prepared", rows(rs));
      }

      DatabaseMetaData meta = conn.getMetaData();
      try (ResultSet rs = meta.getTables(null, System.getenv("PCL_SCHEMA"), "customers", new String[] {"TABLE"})) {
        List<String> names = new ArrayList<>();
        while (rs.next()) names.add(rs.getString("TABLE_NAME"));
        report("getTables", String.join(",", names));
      }
      try (ResultSet rs = meta.getColumns(null, System.getenv("PCL_SCHEMA"), "customers", null)) {
        List<String> names = new ArrayList<>();
        while (rs.next()) names.add(rs.getString("COLUMN_NAME"));
        report("getColumns", String.join(",", names));
      }

      conn.setAutoCommit(false);
      try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM customers")) {
        report("transaction", rows(rs));
      }
      conn.commit();
      conn.setAutoCommit(true);

      try (Statement st = conn.createStatement()) {
        st.execute("DROP TABLE customers");
        report("blocked", "not raised");
      } catch (SQLException e) {
        report("blocked", e.getSQLState() + " " + e.getMessage());
      }
    }

    // prepareThreshold=-1: server-side prepare and binary results from the first execution.
    try (Connection conn = connect("&prepareThreshold=-1&binaryTransfer=true");
         PreparedStatement ps = conn.prepareStatement("SELECT id, name, email, card_number FROM customers WHERE id >= ? ORDER BY id")) {
      ps.setInt(1, 1);
      try (ResultSet rs = ps.executeQuery()) {
        report("binary", rows(rs));
      }
    }
  }
}
