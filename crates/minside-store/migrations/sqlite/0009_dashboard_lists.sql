-- The front page's lists kept with the person (sqlite twin of
-- migrations/postgres/0009_dashboard_lists.sql; keep them in step).
-- The properties a person owns and the children they are guardian for, as the dashboard lists
-- them: JSON arrays of [matrikkel, address] and [birth date, given name] (in no particular
-- order; the dashboard sorts them), so that the front page reads them from the person's row
-- instead of two subqueries per request (issue 4: on PostgreSQL the subqueries were a quarter to
-- a third of the statement's time). The register tables stay the truth: triggers keep the lists
-- current in the same transaction as every change to them, whoever writes (the register import,
-- an operator correcting a row by hand).
alter table persons add column dashboard_properties text;
alter table persons add column dashboard_children text;

-- A bulk load of the register (`population::insert`) puts a row here inside its own transaction
-- (no other transaction ever sees it): the triggers then leave the lists alone and the load
-- fills them once at its end with the statements at the end of this file (per row, on
-- PostgreSQL, a load of 300,000 residents did not finish in 20 minutes).
create table register_bulk_load (loading integer not null);

create trigger property_owners_dashboard_insert after insert on property_owners
when not exists (select 1 from register_bulk_load) begin
    update persons set dashboard_properties = (select json_group_array(json_array(pr.matrikkel, pr.address))
         from property_owners o join properties pr on pr.id = o.property_id
         where o.person_id = new.person_id)
    where id = new.person_id;
end;

create trigger property_owners_dashboard_delete after delete on property_owners
when not exists (select 1 from register_bulk_load) begin
    update persons set dashboard_properties = (select json_group_array(json_array(pr.matrikkel, pr.address))
         from property_owners o join properties pr on pr.id = o.property_id
         where o.person_id = old.person_id)
    where id = old.person_id;
end;

create trigger property_owners_dashboard_update after update on property_owners
when not exists (select 1 from register_bulk_load) begin
    update persons set dashboard_properties = (select json_group_array(json_array(pr.matrikkel, pr.address))
         from property_owners o join properties pr on pr.id = o.property_id
         where o.person_id = persons.id)
    where id in (old.person_id, new.person_id);
end;

create trigger properties_dashboard_update after update of matrikkel, address on properties
when not exists (select 1 from register_bulk_load) begin
    update persons set dashboard_properties = (select json_group_array(json_array(pr.matrikkel, pr.address))
         from property_owners o join properties pr on pr.id = o.property_id
         where o.person_id = persons.id)
    where id in (select person_id from property_owners where property_id = new.id);
end;

create trigger guardianships_dashboard_insert after insert on guardianships
when not exists (select 1 from register_bulk_load) begin
    update persons set dashboard_children = (select json_group_array(json_array(c.birth_date, c.given_name))
         from guardianships g join persons c on c.id = g.child_id
         where g.guardian_id = new.guardian_id)
    where id = new.guardian_id;
end;

create trigger guardianships_dashboard_delete after delete on guardianships
when not exists (select 1 from register_bulk_load) begin
    update persons set dashboard_children = (select json_group_array(json_array(c.birth_date, c.given_name))
         from guardianships g join persons c on c.id = g.child_id
         where g.guardian_id = old.guardian_id)
    where id = old.guardian_id;
end;

create trigger guardianships_dashboard_update after update on guardianships
when not exists (select 1 from register_bulk_load) begin
    update persons set dashboard_children = (select json_group_array(json_array(c.birth_date, c.given_name))
         from guardianships g join persons c on c.id = g.child_id
         where g.guardian_id = persons.id)
    where id in (old.guardian_id, new.guardian_id);
end;

create trigger persons_dashboard_child_update after update of birth_date, given_name on persons
when not exists (select 1 from register_bulk_load) begin
    update persons set dashboard_children = (select json_group_array(json_array(c.birth_date, c.given_name))
         from guardianships g join persons c on c.id = g.child_id
         where g.guardian_id = persons.id)
    where id in (select guardian_id from guardianships where child_id = new.id);
end;

-- Fill the lists of the persons already there (and, run again, those of a bulk load): one pass
-- over each register table, not a subquery per person.
update persons set dashboard_properties = x.list
from (select o.person_id, json_group_array(json_array(pr.matrikkel, pr.address)) as list
      from property_owners o join properties pr on pr.id = o.property_id
      group by o.person_id) as x
where x.person_id = persons.id;
update persons set dashboard_children = x.list
from (select g.guardian_id, json_group_array(json_array(c.birth_date, c.given_name)) as list
      from guardianships g join persons c on c.id = g.child_id
      group by g.guardian_id) as x
where x.guardian_id = persons.id;
