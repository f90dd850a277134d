{{ incremental_by_build_scope() }}
-- One row per patient and scan date (the assessment): each site's score is the lower of its
-- sides (contract 6), implausible values left out, and the lowest T-score over lumbar spine,
-- femoral neck and total hip with the site it came from. The 33% radius is carried beside them;
-- it stands in for the minimum only when no core site is usable and var
-- use_radius_33_when_no_core_site is on (ISCD 2019; default off, as the contract's minimum).
{%- set sites = [
    ('lumbar_spine', 'lumbar_spine_l1_l4'),
    ('femoral_neck', 'femoral_neck'),
    ('total_hip', 'total_hip'),
    ('radius_33', 'radius_33'),
] %}
{%- set core_t = ['t_score_lumbar_spine', 't_score_femoral_neck', 't_score_total_hip'] %}
{%- set core_z = ['z_score_lumbar_spine', 'z_score_femoral_neck', 'z_score_total_hip'] %}
{%- set radius_stands_in = var('use_radius_33_when_no_core_site') %}
with pivoted as (
    select
        patient_id,
        scan_date,
        {%- for column, site in sites %}
        {%- for measure in ['t_score', 'z_score', 'bmd_g_cm2'] %}
        min(case when site = '{{ site }}' and {{ measure }}_is_plausible then {{ measure }} end)
            as {{ measure | replace('_g_cm2', '') }}_{{ column }},
        {%- endfor %}
        {%- endfor %}
        max(case when height_cm_is_plausible then height_cm end) as height_cm,
        max(case when weight_kg_is_plausible then weight_kg end) as weight_kg,
        -- the status recorded at the scan; its site rows disagree only by error, max picks one
        max(menopausal_status) as scan_menopausal_status,
        -- the scanner's manufacturer (seed dxa_manufacturers, mapped in staging; raw BMD compares
        -- only within one); empty when the scan's rows name several
        case when count(distinct manufacturer) = 1 then min(manufacturer) end as manufacturer,
        max(case
            when not t_score_is_plausible or not z_score_is_plausible or not bmd_g_cm2_is_plausible
              or not height_cm_is_plausible or not weight_kg_is_plausible then 1
            else 0
        end) = 1 as has_implausible_value
    from {{ ref('int_dxa_results_current') }}
    group by patient_id, scan_date
)

select
    patient_map.patient_key || '-' || {{ yyyymmdd('pivoted.scan_date') }} as assessment_id,
    patient_map.patient_key,
    pivoted.scan_date,
    {%- for column, site in sites %}
    {%- for measure in ['t_score', 'z_score', 'bmd'] %}
    pivoted.{{ measure }}_{{ column }},
    {%- endfor %}
    {%- endfor %}
    pivoted.height_cm,
    pivoted.weight_kg,
    pivoted.scan_menopausal_status,
    pivoted.manufacturer,
    pivoted.has_implausible_value,
    {%- set core_site = label_of_lowest([
        ('t_score_lumbar_spine', 'lumbar_spine_l1_l4'),
        ('t_score_femoral_neck', 'femoral_neck'),
        ('t_score_total_hip', 'total_hip'),
    ]) %}
    {%- if radius_stands_in %}
    case when {{ lowest_of(core_t) }} is null then pivoted.t_score_radius_33 else {{ lowest_of(core_t) }} end as min_t_score,
    case when {{ lowest_of(core_t) }} is null and pivoted.t_score_radius_33 is not null then 'radius_33'
         else {{ core_site }} end as min_t_score_site,
    case when {{ lowest_of(core_t) }} is null then pivoted.z_score_radius_33 else {{ lowest_of(core_z) }} end as min_z_score,
    {%- else %}
    {{ lowest_of(core_t) }} as min_t_score,
    {{ core_site }} as min_t_score_site,
    {{ lowest_of(core_z) }} as min_z_score,
    {%- endif %}
    {{ round_double('pivoted.weight_kg / ((pivoted.height_cm / 100.0) * (pivoted.height_cm / 100.0))', 2) }} as bmi
from pivoted
inner join {{ ref('stg_identity__patient_map') }} as patient_map
    on patient_map.patient_id = pivoted.patient_id
{%- if is_incremental() %}
where {{ in_build_scope('patient_map.patient_key') }}
{%- endif %}
