select * from (
    values
        (1, 'ada@example.org', cast(10.0 as double precision), 'a', current_timestamp),
        (2, 'grace@example.org', cast(20.0 as double precision), 'b', current_timestamp),
        (3, 'alan@example', cast(30.0 as double precision), 'b', current_timestamp),
        (4, null, cast(40.0 as double precision), 'z', current_timestamp)
) as t (person_id, email, score, grade, updated_at)
