-- Queries on execmond_lines (schema.sql); docs/fleet.md shows them, and
-- tests/fleet/pipeline.sh runs each one (it cuts them out by their first line).

-- duplicates: rows that repeat a line of the stream (at-least-once delivery resends after an outage); (host, stream, seq) names one
SELECT count(*) - count(DISTINCT (host, stream, seq)) AS duplicates FROM execmond_keyed WHERE seq IS NOT NULL;

-- dedup: keep the first row of every line; a line of the stream is named by (host, stream, seq), the few without a seq (each file's hello, the file's own lost lines) by their content
DELETE FROM execmond_lines WHERE id IN (
    SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY host, stream, seq, CASE WHEN seq IS NULL THEN line END
                                                  ORDER BY id) AS n
                      FROM execmond_keyed) d
     WHERE n > 1);

-- analyst: which hosts ran curl, by whom, from which parent, in the last hour
SELECT host,
       (line->>'uid')::bigint            AS uid,
       line->>'filename'                 AS program,
       line->'ancestors'->0->>'comm'     AS parent,
       line->'ancestors'->0->>'filename' AS parent_program,
       count(*)                          AS runs,
       max(time)                         AS last_run
  FROM execmond_lines
 WHERE type = 'exec' AND line->>'comm' = 'curl' AND time > now() - interval '1 hour'
 GROUP BY 1, 2, 3, 4, 5
 ORDER BY last_run DESC;
