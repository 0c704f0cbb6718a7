-- The front page's lists kept with the person (postgres twin of
-- migrations/sqlite/0009_dashboard_lists.sql; keep them in step).
-- The properties a person owns and the children they are guardian for, as the dashboard lists
-- them: JSON arrays of [matrikkel, address] and [birth date, given name] (in no particular
-- order; the dashboard sorts them; none when empty), so that the front page reads them from the
-- person's row instead of two subqueries per request (issue 4: on PostgreSQL the subqueries were
-- a quarter to a third of the statement's time). The register tables stay the truth: triggers
-- keep the lists current in the same transaction as every change to them, whoever writes (the
-- register import, an operator correcting a row by hand).
alter table persons add column dashboard_properties text;
alter table persons add column dashboard_children text;

-- A bulk load of the register (`population::insert`) puts a row here inside its own transaction
-- (no other transaction ever sees it): the triggers then leave the lists alone and the load
-- fills them once at its end with the statements at the end of this file (per row, a load of
-- 300,000 residents did not finish in 20 minutes: the trigger statements' plans, made while the
-- tables were still empty, scanned them whole).
create table register_bulk_load (loading integer not null);

create function dashboard_properties_of(person bigint) returns text language sql stable as $$
    select json_agg(json_build_array(pr.matrikkel, pr.address))::text
    from property_owners o join properties pr on pr.id = o.property_id
    where o.person_id = person
$$;

create function dashboard_children_of(guardian bigint) returns text language sql stable as $$
    select json_agg(json_build_array(c.birth_date, c.given_name))::text
    from guardianships g join persons c on c.id = g.child_id
    where g.guardian_id = guardian
$$;

create function property_owners_dashboard() returns trigger language plpgsql as $$
begin
    if exists (select 1 from register_bulk_load) then
        return null;
    end if;
    if tg_op in ('DELETE', 'UPDATE') then
        update persons set dashboard_properties = dashboard_properties_of(id) where id = old.person_id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        update persons set dashboard_properties = dashboard_properties_of(id) where id = new.person_id;
    end if;
    return null;
end
$$;
create trigger property_owners_dashboard after insert or update or delete on property_owners
    for each row execute function property_owners_dashboard();

create function properties_dashboard() returns trigger language plpgsql as $$
begin
    if exists (select 1 from register_bulk_load) then
        return null;
    end if;
    update persons set dashboard_properties = dashboard_properties_of(id)
    where id in (select person_id from property_owners where property_id = new.id);
    return null;
end
$$;
create trigger properties_dashboard after update of matrikkel, address on properties
    for each row execute function properties_dashboard();

create function guardianships_dashboard() returns trigger language plpgsql as $$
begin
    if exists (select 1 from register_bulk_load) then
        return null;
    end if;
    if tg_op in ('DELETE', 'UPDATE') then
        update persons set dashboard_children = dashboard_children_of(id) where id = old.guardian_id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        update persons set dashboard_children = dashboard_children_of(id) where id = new.guardian_id;
    end if;
    return null;
end
$$;
create trigger guardianships_dashboard after insert or update or delete on guardianships
    for each row execute function guardianships_dashboard();

create function persons_dashboard_child() returns trigger language plpgsql as $$
begin
    if exists (select 1 from register_bulk_load) then
        return null;
    end if;
    update persons set dashboard_children = dashboard_children_of(id)
    where id in (select guardian_id from guardianships where child_id = new.id);
    return null;
end
$$;
create trigger persons_dashboard_child after update of birth_date, given_name on persons
    for each row execute function persons_dashboard_child();

-- Fill the lists of the persons already there (and, run again, those of a bulk load): one pass
-- over each register table, not a subquery per person.
update persons p set dashboard_properties = x.list
from (select o.person_id, json_agg(json_build_array(pr.matrikkel, pr.address))::text as list
      from property_owners o join properties pr on pr.id = o.property_id
      group by o.person_id) as x
where x.person_id = p.id;
update persons p set dashboard_children = x.list
from (select g.guardian_id, json_agg(json_build_array(c.birth_date, c.given_name))::text as list
      from guardianships g join persons c on c.id = g.child_id
      group by g.guardian_id) as x
where x.guardian_id = p.id;
